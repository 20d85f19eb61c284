import type { Geometry, Position } from 'geojson';

/** Small, allocation-light geometry helpers for the twin's hot paths (turf stays for exact tests). */

export type BBox = [minLon: number, minLat: number, maxLon: number, maxLat: number];

/** The same mean radius turf uses, so distances agree with turf's. */
export const EARTH_RADIUS_M = 6_371_008.8;
const RAD = Math.PI / 180;

/** Great-circle distance in metres between two [lon, lat] positions (haversine). */
export function distanceM(lon1: number, lat1: number, lon2: number, lat2: number): number {
  const dLat = (lat2 - lat1) * RAD;
  const dLon = (lon2 - lon1) * RAD;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** A box that contains every point within `radiusM` of [lon, lat]. */
export function radiusBox(lon: number, lat: number, radiusM: number): BBox {
  const dLat = radiusM / EARTH_RADIUS_M / RAD;
  const cos = Math.cos(lat * RAD);
  // Near the poles the longitude span explodes; clamp to the whole range.
  const dLon = cos > 1e-9 ? Math.min(180, dLat / cos) : 180;
  return [lon - dLon * 1.0001, lat - dLat * 1.0001, lon + dLon * 1.0001, lat + dLat * 1.0001];
}

function extend(box: BBox, p: Position): void {
  const x = p[0]!;
  const y = p[1]!;
  if (x < box[0]) box[0] = x;
  if (y < box[1]) box[1] = y;
  if (x > box[2]) box[2] = x;
  if (y > box[3]) box[3] = y;
}

/** The box of a point (an asset's index entry). */
export const pointBox = (p: readonly number[]): BBox => [p[0]!, p[1]!, p[0]!, p[1]!];

/** Bounding box of a geometry. */
export function geometryBBox(g: Geometry): BBox {
  const box: BBox = [Infinity, Infinity, -Infinity, -Infinity];
  switch (g.type) {
    case 'Point':
      extend(box, g.coordinates);
      break;
    case 'MultiPoint':
    case 'LineString':
      for (const p of g.coordinates) extend(box, p);
      break;
    case 'MultiLineString':
    case 'Polygon':
      for (const line of g.coordinates) for (const p of line) extend(box, p);
      break;
    case 'MultiPolygon':
      for (const poly of g.coordinates) for (const ring of poly) for (const p of ring) extend(box, p);
      break;
    case 'GeometryCollection':
      for (const child of g.geometries) {
        const b = geometryBBox(child);
        extend(box, [b[0], b[1]]);
        extend(box, [b[2], b[3]]);
      }
      break;
  }
  return box;
}

/** A representative point: a Point itself, else the mean of the vertices (as turf's `centroid`). */
export function representativePoint(g: Geometry): [number, number] {
  if (g.type === 'Point') return [g.coordinates[0]!, g.coordinates[1]!];
  let sx = 0;
  let sy = 0;
  let n = 0;
  const add = (ring: Position[], closed: boolean) => {
    const end = closed ? ring.length - 1 : ring.length;
    for (let i = 0; i < end; i++) {
      sx += ring[i]![0]!;
      sy += ring[i]![1]!;
      n++;
    }
  };
  switch (g.type) {
    case 'LineString':
      add(g.coordinates, false);
      break;
    case 'Polygon':
      // turf's centroid averages every vertex of every ring but the closing ones; the exterior is enough
      // for a footprint and keeps holes from pulling the point.
      add(g.coordinates[0]!, true);
      break;
    case 'MultiPolygon':
      for (const poly of g.coordinates) add(poly[0]!, true);
      break;
    default: {
      const b = geometryBBox(g);
      return [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2];
    }
  }
  return n > 0 ? [sx / n, sy / n] : [0, 0];
}

/** Whether box a lies entirely inside box b. */
export const boxInside = (a: BBox, b: BBox) => a[0] >= b[0] && a[1] >= b[1] && a[2] <= b[2] && a[3] <= b[3];
