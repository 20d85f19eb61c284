import { area, centroid } from '@turf/turf';
import type { Polygon } from 'geojson';
import type { BuildingUse } from '../domain/building/events.js';
import type { CityContext } from './cityContext.js';
import { asFeature, safeIdPart } from './geojsonFile.js';
import type { Importer, Mapped } from './pipeline.js';

/**
 * OSM-style building footprints -> BuildingRegistered. Tags read: `building` (use), `building:levels`
 * (floors), `height` (m), `start_date` (year built), `addr:*`, `name`, `amenity` (use of `building=yes`).
 * Estimated attributes are named in the event's metadata reason.
 */

/** When `start_date` is absent: 1975, the floor-area median construction year of Romanian residential blocks
 * (MODERATE building stock 2020: 34 % of block floor area predates 1970, 52 % predates 1980). */
export const DEFAULT_YEAR_BUILT = 1975;
/** When `building:levels` and `height` are absent: a P+4 block for apartments, one storey for houses, else 2. */
export const DEFAULT_FLOORS: Partial<Record<BuildingUse, number>> = { residential: 5, other: 2 };
const STOREY_M = 3;

const USE_BY_TAG: Record<string, BuildingUse> = {
  apartments: 'residential',
  residential: 'residential',
  house: 'residential',
  detached: 'residential',
  semidetached_house: 'residential',
  terrace: 'residential',
  dormitory: 'residential',
  bungalow: 'residential',
  commercial: 'commercial',
  retail: 'commercial',
  supermarket: 'commercial',
  kiosk: 'commercial',
  hotel: 'commercial',
  office: 'office',
  industrial: 'industrial',
  warehouse: 'industrial',
  factory: 'industrial',
  school: 'education',
  university: 'education',
  college: 'education',
  kindergarten: 'education',
  hospital: 'health',
  clinic: 'health',
  public: 'public',
  civic: 'public',
  government: 'public',
  church: 'public',
  cathedral: 'public',
  chapel: 'public',
  mosque: 'public',
  synagogue: 'public',
  train_station: 'public',
  transportation: 'public',
};
const USE_BY_AMENITY: Record<string, BuildingUse> = {
  school: 'education',
  university: 'education',
  kindergarten: 'education',
  hospital: 'health',
  clinic: 'health',
  doctors: 'health',
  place_of_worship: 'public',
  townhall: 'public',
  restaurant: 'commercial',
  cafe: 'commercial',
  bank: 'commercial',
};
/** Romanian apartment blocks are named by their block number: `Bl. B11`, `Bl. B`, `Bloc 7`, `Bl M3`. */
const BLOCK_NAME = /^(bl\.|bloc\b|bl\s)\s*[a-z0-9]/i;
const SMALL_HOUSE_TAGS = new Set(['house', 'detached', 'semidetached_house', 'terrace', 'bungalow']);

/** First integer in a tag value (`5`, `5;6`, `4.5` -> 4). */
function firstInt(value: unknown): number | undefined {
  const m = /\d+/.exec(String(value ?? ''));
  return m ? Number(m[0]) : undefined;
}

/** Metres from `height` (`12`, `12.5 m`, `12,5`). */
function metres(value: unknown): number | undefined {
  const m = /^\s*(\d+(?:[.,]\d+)?)\s*(m)?\s*$/.exec(String(value ?? ''));
  return m ? Number(m[1]!.replace(',', '.')) : undefined;
}

/** The year in `start_date` (`1978`, `1978-05`, `~1900`, `1930s`, `C19` is not read). */
function yearOf(value: unknown): number | undefined {
  const m = /(1[0-9]{3}|20[0-9]{2})/.exec(String(value ?? ''));
  return m ? Number(m[1]) : undefined;
}

function addressOf(tags: Record<string, unknown>): string | undefined {
  const street = [tags['addr:street'], tags['addr:housenumber']].filter(Boolean).join(' ');
  const place = [tags['addr:postcode'], tags['addr:city']].filter(Boolean).join(' ');
  const address = [street, place].filter(Boolean).join(', ');
  return address ? address.slice(0, 500) : undefined;
}

/** The footprint: a Polygon, or the largest part of a MultiPolygon (building relations). */
function footprintOf(geometry: { type: string; coordinates?: unknown }): Polygon | string {
  if (geometry.type === 'Polygon') return geometry as Polygon;
  if (geometry.type === 'MultiPolygon') {
    const parts = (geometry.coordinates as Polygon['coordinates'][]).map(
      (c) => ({ type: 'Polygon', coordinates: c }) as Polygon,
    );
    return parts.reduce((a, b) => (area(b) > area(a) ? b : a));
  }
  return `geometry is a ${geometry.type}, not a Polygon`;
}

/** The OSM id of a feature (`way/123` from `id` or from `osm_type` + `osm_id`). */
function osmIdOf(feature: { id?: unknown; properties: Record<string, unknown> }): string | undefined {
  const p = feature.properties;
  if (p.osm_type && p.osm_id !== undefined) return `${p.osm_type}/${p.osm_id}`;
  if (feature.id !== undefined) return String(feature.id);
  if (p['@id']) return String(p['@id']);
  return undefined;
}

/** Maps one OSM building feature. */
export function mapBuilding(raw: unknown, _index: number, city: CityContext): Mapped {
  const feature = asFeature(raw);
  if (typeof feature === 'string') return { invalid: feature };
  const tags = (feature.properties ?? {}) as Record<string, unknown>;
  const osmId = osmIdOf({ id: feature.id, properties: tags });
  if (!osmId) return { invalid: 'has no OSM id (id, or osm_type + osm_id)' };
  if (!tags.building || tags.building === 'no') return { skip: 'not a building (no building tag)' };
  const polygon = footprintOf(feature.geometry as { type: string; coordinates?: unknown });
  if (typeof polygon === 'string') return { invalid: polygon };

  const tag = String(tags.building);
  const estimated: string[] = [];
  let use: BuildingUse | undefined =
    USE_BY_TAG[tag] ?? (tags.amenity ? USE_BY_AMENITY[String(tags.amenity)] : undefined);
  if (!use && BLOCK_NAME.test(String(tags.name ?? ''))) {
    use = 'residential';
    estimated.push('use from the block name');
  }
  use ??= 'other';
  const height = metres(tags.height);
  let floors = firstInt(tags['building:levels']);
  if (floors === undefined || floors < 1) {
    if (height !== undefined) {
      floors = Math.max(1, Math.round(height / STOREY_M));
      estimated.push(`floors from height ${height} m`);
    } else {
      floors = SMALL_HOUSE_TAGS.has(tag) ? 1 : (DEFAULT_FLOORS[use] ?? 2);
      estimated.push(`floors (default ${floors})`);
    }
  }
  let yearBuilt = yearOf(tags.start_date);
  if (yearBuilt === undefined) {
    yearBuilt = DEFAULT_YEAR_BUILT;
    estimated.push(`yearBuilt (default ${DEFAULT_YEAR_BUILT})`);
  }
  const footprintArea = area(polygon);
  if (!(footprintArea > 0)) return { invalid: 'footprint has no area' };
  const district = city.districtAt(centroid(polygon).geometry.coordinates);
  if (!district) return { invalid: `no district of ${city.city} to place it in` };
  const address = addressOf(tags);
  const data: Record<string, unknown> = {
    footprint: polygon,
    use,
    yearBuilt,
    floors,
    ...(height !== undefined && height > 0 ? { heightM: height } : {}),
    grossFloorAreaM2: Math.round(footprintArea * floors * 10) / 10,
    district,
    ...(address ? { address } : {}),
    ...(tags.name ? { name: String(tags.name).slice(0, 500) } : {}),
  };
  const featureId = osmId;
  return {
    featureId,
    where: polygon,
    items: [
      {
        type: 'BuildingRegistered',
        entityId: `osm-${safeIdPart(osmId.replace('/', '-'))}`,
        data,
        reason: `OSM ${osmId} (building=${tag})${estimated.length ? `; estimated: ${estimated.join(', ')}` : ''}`,
      },
    ],
  };
}

/** The buildings importer over a file's features. */
export function buildingsImporter(features: readonly unknown[]): Importer<unknown> {
  return { label: 'buildings', source: 'osm', features, map: mapBuilding };
}
