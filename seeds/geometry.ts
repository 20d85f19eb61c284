import * as turf from '@turf/turf';
import type { Feature, MultiPolygon, Polygon, Position } from 'geojson';
import type { CityFact } from './facts/cities.js';
import type { Rng } from './prng.js';

/** Geometry helpers of the generator: district cells, random points inside areas, building footprints. */

export type Area = Polygon | MultiPolygon;

const METRES_PER_DEGREE_LAT = 111_320;
const round = (v: number, digits: number) => Number(v.toFixed(digits));

/** Metres per degree of longitude at a latitude (local equirectangular approximation, fine at block scale). */
export function metresPerDegreeLon(lat: number): number {
  return METRES_PER_DEGREE_LAT * Math.cos((lat * Math.PI) / 180);
}

/** Offsets a [lon, lat] by metres east and north. */
export function offset([lon, lat]: Position, eastM: number, northM: number): [number, number] {
  return [lon! + eastM / metresPerDegreeLon(lat!), lat! + northM / METRES_PER_DEGREE_LAT];
}

export function ringPolygon(ring: number[][]): Polygon {
  return (turf.rewind(turf.polygon([ring.map(([x, y]) => [x!, y!])])) as Feature<Polygon>).geometry;
}

function roundArea(area: Area, digits: number): Area {
  const ring = (r: Position[]) => r.map(([x, y]) => [round(x!, digits), round(y!, digits)]);
  return area.type === 'Polygon'
    ? { type: 'Polygon', coordinates: area.coordinates.map(ring) }
    : { type: 'MultiPolygon', coordinates: area.coordinates.map((p) => p.map(ring)) };
}

/**
 * The district areas of a city: Bucharest's sectors from their outlines; elsewhere the Voronoi cells of the
 * neighbourhood centres clipped to the city outline (a coarse but gap-free partition of the municipality).
 */
export function districtAreas(city: CityFact): Map<string, Area> {
  const out = new Map<string, Area>();
  const cityPolygon = ringPolygon(city.outline);
  const centred = city.districts.filter((d) => d.centre);
  if (centred.length > 0) {
    const [minX, minY, maxX, maxY] = turf.bbox(cityPolygon);
    const cells = turf.voronoi(turf.featureCollection(centred.map((d) => turf.point(d.centre!))), {
      bbox: [minX - 0.01, minY - 0.01, maxX + 0.01, maxY + 0.01],
    });
    centred.forEach((district, i) => {
      const cell = cells.features[i];
      if (!cell) throw new Error(`no Voronoi cell for ${district.id}`);
      const clipped = turf.intersect(turf.featureCollection([cell, turf.feature(cityPolygon)]));
      if (!clipped) throw new Error(`the cell of ${district.id} lies outside ${city.id}`);
      out.set(district.id, largestPart(roundArea(clipped.geometry, 6)));
    });
  }
  for (const district of city.districts) {
    if (district.outline) out.set(district.id, ringPolygon(district.outline));
  }
  return out;
}

/** Keeps the largest part of a clipped cell: a sliver left by clipping makes no neighbourhood. */
function largestPart(area: Area): Area {
  if (area.type === 'Polygon')
    return (turf.rewind(turf.polygon(area.coordinates)) as Feature<Polygon>).geometry;
  let best: Position[][] = area.coordinates[0]!;
  let bestArea = 0;
  for (const part of area.coordinates) {
    const a = turf.area(turf.polygon(part));
    if (a > bestArea) {
      bestArea = a;
      best = part;
    }
  }
  return (turf.rewind(turf.polygon(best)) as Feature<Polygon>).geometry;
}

/** A fast containment test for one area (bbox pre-check, then turf). */
export function contains(area: Area, bbox: number[], point: Position): boolean {
  const [x, y] = point as [number, number];
  if (x < bbox[0]! || y < bbox[1]! || x > bbox[2]! || y > bbox[3]!) return false;
  return turf.booleanPointInPolygon(point, area);
}

/** A uniformly random point inside an area (rejection sampling in its bbox). */
export function randomPointIn(rng: Rng, area: Area, bbox: number[] = turf.bbox(area)): [number, number] {
  for (let attempt = 0; attempt < 10_000; attempt++) {
    const p: [number, number] = [rng.float(bbox[0]!, bbox[2]!), rng.float(bbox[1]!, bbox[3]!)];
    if (contains(area, bbox, p)) return p;
  }
  throw new Error('could not sample a point inside the area');
}

export type FootprintShape = 'rect' | 'L';

/**
 * A building footprint: a rectangle (or an L) of `lengthM` x `depthM` metres centred on `centre`, rotated by
 * `angleDeg`, as a closed counter-clockwise ring rounded to 7 decimals (about 1 cm).
 */
export function footprint(
  centre: Position,
  lengthM: number,
  depthM: number,
  angleDeg: number,
  shape: FootprintShape,
): Polygon {
  const l = lengthM / 2;
  const d = depthM / 2;
  // Local metres, counter-clockwise. The L keeps the long bar and adds a wing of the same depth.
  const local: [number, number][] =
    shape === 'rect'
      ? [
          [-l, -d],
          [l, -d],
          [l, d],
          [-l, d],
        ]
      : [
          [-l, -d],
          [l, -d],
          [l, d + depthM * 1.5],
          [l - depthM, d + depthM * 1.5],
          [l - depthM, d],
          [-l, d],
        ];
  const a = (angleDeg * Math.PI) / 180;
  const cos = Math.cos(a);
  const sin = Math.sin(a);
  const ring = local.map(([x, y]) => {
    const [lon, lat] = offset(centre, x * cos - y * sin, x * sin + y * cos);
    return [round(lon, 7), round(lat, 7)];
  });
  ring.push([...ring[0]!]);
  return { type: 'Polygon', coordinates: [ring] };
}

/** Area of a polygon in m2. */
export function areaM2(polygon: Polygon): number {
  return turf.area(polygon);
}
