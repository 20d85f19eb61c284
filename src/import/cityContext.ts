import { booleanPointInPolygon, pointToPolygonDistance } from '@turf/turf';
import type { MultiPolygon, Polygon, Position } from 'geojson';
import { NotFoundError } from '../core/errors.js';
import type { CityRegistered } from '../domain/city/events.js';
import { cityStream } from '../domain/streams.js';
import type { EventStore } from '../eventStore/port.js';

type Area = Polygon | MultiPolygon;

/** What an importer needs to know about the target city: its boundary and districts, from the city stream. */
export interface CityContext {
  city: string;
  boundary: Area;
  districts: { id: string; name: string; boundary?: Area }[];
  /** True when the point lies inside (or on) the city boundary. */
  inside(point: Position): boolean;
  /**
   * The district containing the point; a point in a sliver between two simplified district outlines goes to
   * the nearest district. Undefined when the city has no district boundaries.
   */
  districtAt(point: Position): string | undefined;
}

/** Reads the city stream and builds the city's context; throws NotFoundError when the city is not registered. */
export async function loadCityContext(store: EventStore, city: string): Promise<CityContext> {
  let registered: CityRegistered['data'] | undefined;
  for await (const event of store.readStream(cityStream(city))) {
    if (event.type === 'CityRegistered') registered = event.data as CityRegistered['data'];
  }
  if (!registered) {
    throw new NotFoundError(`City ${city} is not registered: seed it first (twin seed) or register it`);
  }
  return cityContextOf(city, registered);
}

/** The context of a city from its CityRegistered data. */
export function cityContextOf(city: string, data: CityRegistered['data']): CityContext {
  const districts = data.districts.map((d) => ({
    id: d.id,
    name: d.name,
    ...(d.boundary ? { boundary: d.boundary as Area } : {}),
  }));
  const withBoundary = districts.filter((d): d is typeof d & { boundary: Area } => d.boundary !== undefined);
  return {
    city,
    boundary: data.boundary as Area,
    districts,
    inside: (point) => booleanPointInPolygon(point, data.boundary as Area),
    districtAt(point) {
      if (withBoundary.length === 0) return undefined;
      const hit = withBoundary.find((d) => booleanPointInPolygon(point, d.boundary));
      if (hit) return hit.id;
      let best = withBoundary[0]!;
      let bestDistance = Number.POSITIVE_INFINITY;
      for (const d of withBoundary) {
        const distance = pointToPolygonDistance(point, d.boundary);
        if (distance < bestDistance) {
          bestDistance = distance;
          best = d;
        }
      }
      return best.id;
    },
  };
}
