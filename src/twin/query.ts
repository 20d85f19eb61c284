import {
  bboxPolygon,
  booleanIntersects,
  booleanPointInPolygon,
  booleanWithin,
  pointToLineDistance,
  pointToPolygonDistance,
} from '@turf/turf';
import type { Geometry, MultiPolygon, Polygon } from 'geojson';
import { ValidationError } from '../core/errors.js';
import type { LayerName, TwinFeature } from './changes.js';
import { type BBox, boxInside, distanceM, geometryBBox, radiusBox } from './geo.js';
import type { SpatialIndex } from './spatialIndex.js';

/** A layer query: every given criterion must hold. */
export interface LayerQuery {
  /** Features whose geometry intersects the box. */
  bbox?: BBox;
  /** Features within `radiusM` metres of the point, sorted by distance (then id), with `distanceM`. */
  near?: { lon: number; lat: number; radiusM: number };
  /** Features whose geometry lies within the area. */
  within?: Polygon | MultiPolygon;
  /** Mobility / grid `kind`, building `use`. */
  kinds?: string[];
  /** Attribute equality on properties (any of the values). */
  filters?: Record<string, string[]>;
  limit?: number;
  /** Opaque: the `next` of the previous page. */
  cursor?: string;
}

export interface QueryResult {
  features: TwinFeature[];
  /** Cursor of the next page, when `limit` cut the result. */
  next?: string;
  /** How many features matched in all (before paging). */
  matched: number;
}

/** Attribute filters each layer accepts (query parameter name = property name). */
export const LAYER_FILTERS: Record<LayerName, readonly string[]> = {
  buildings: ['use', 'energyClass', 'district', 'heatingSystem', 'status', 'finalEnergyBasis'],
  mobility: ['kind', 'status', 'operator', 'district'],
  grid: ['kind', 'element', 'network', 'status', 'district'],
};

const KIND_PROPERTY: Record<LayerName, string> = { buildings: 'use', mobility: 'kind', grid: 'kind' };

interface Cursor {
  id: string;
  d?: number;
}

const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString('base64url');

function decodeCursor(cursor: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Cursor;
    if (typeof c.id !== 'string' || (c.d !== undefined && typeof c.d !== 'number')) throw new Error('shape');
    return c;
  } catch {
    throw new ValidationError(`Invalid cursor: ${JSON.stringify(cursor)}`, [
      { field: 'cursor', value: cursor, message: 'must be the `next` value of a previous page' },
    ]);
  }
}

function intersectBoxes(a: BBox | undefined, b: BBox): BBox {
  if (!a) return b;
  return [Math.max(a[0], b[0]), Math.max(a[1], b[1]), Math.min(a[2], b[2]), Math.min(a[3], b[3])];
}

/** Metres from a point to a geometry: 0 inside a polygon, else to its nearest edge. */
function distanceTo(lon: number, lat: number, g: Geometry): number {
  switch (g.type) {
    case 'Point':
      return distanceM(lon, lat, g.coordinates[0]!, g.coordinates[1]!);
    case 'LineString':
      return pointToLineDistance([lon, lat], g, { units: 'meters' });
    case 'Polygon':
    case 'MultiPolygon':
      return booleanPointInPolygon([lon, lat], g)
        ? 0
        : Math.max(0, pointToPolygonDistance([lon, lat], g, { units: 'meters' }));
    default: {
      const b = geometryBBox(g);
      return distanceM(lon, lat, (b[0] + b[2]) / 2, (b[1] + b[3]) / 2);
    }
  }
}

/**
 * Runs a query over one layer: the spatial index narrows the candidates to the boxes of the spatial criteria,
 * turf decides the exact geometry tests, attributes are compared as strings.
 */
export function queryLayer(
  layer: LayerName,
  q: LayerQuery,
  index: SpatialIndex,
  feature: (id: string) => TwinFeature | undefined,
  all: () => Iterable<TwinFeature>,
): QueryResult {
  let box: BBox | undefined;
  if (q.bbox) box = intersectBoxes(box, q.bbox);
  if (q.near) box = intersectBoxes(box, radiusBox(q.near.lon, q.near.lat, q.near.radiusM));
  if (q.within) box = intersectBoxes(box, geometryBBox(q.within));

  let candidates: Iterable<TwinFeature>;
  if (box) {
    const found: TwinFeature[] = [];
    if (box[0] <= box[2] && box[1] <= box[3]) {
      for (const item of index.search(box)) {
        const f = feature(item.id);
        if (f) found.push(f);
      }
    }
    candidates = found;
  } else candidates = all();

  const kinds = q.kinds && q.kinds.length > 0 ? new Set(q.kinds) : undefined;
  const filters = Object.entries(q.filters ?? {}).map(([k, v]) => [k, new Set(v)] as const);
  const bboxPoly = q.bbox ? bboxPolygon(q.bbox).geometry : undefined;

  const matched: Array<{ f: TwinFeature; d: number }> = [];
  for (const f of candidates) {
    const props = f.properties;
    if (kinds && !kinds.has(String(props[KIND_PROPERTY[layer]]))) continue;
    let ok = true;
    for (const [key, values] of filters) {
      if (!values.has(String(props[key]))) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    if (q.bbox && f.geometry.type !== 'Point') {
      // A box entirely inside the query box needs no exact test; one crossing its edge does.
      if (!boxInside(geometryBBox(f.geometry), q.bbox) && !booleanIntersects(f.geometry, bboxPoly!)) continue;
    }
    let d = 0;
    if (q.near) {
      d = distanceTo(q.near.lon, q.near.lat, f.geometry);
      if (d > q.near.radiusM) continue;
    }
    if (q.within && !booleanWithin(f.geometry, q.within)) continue;
    matched.push({ f, d });
  }

  if (q.near) matched.sort((a, b) => a.d - b.d || (a.f.id < b.f.id ? -1 : a.f.id > b.f.id ? 1 : 0));
  else matched.sort((a, b) => (a.f.id < b.f.id ? -1 : a.f.id > b.f.id ? 1 : 0));

  let start = 0;
  if (q.cursor) {
    const c = decodeCursor(q.cursor);
    // The first entry strictly after the cursor in the result's order (entities may have come or gone).
    start = matched.findIndex((m) =>
      q.near && c.d !== undefined ? m.d > c.d || (m.d === c.d && m.f.id > c.id) : m.f.id > c.id,
    );
    if (start < 0) start = matched.length;
  }
  const end = q.limit === undefined ? matched.length : Math.min(matched.length, start + q.limit);
  const page = matched.slice(start, end);
  const features = q.near
    ? page.map(({ f, d }) => ({
        ...f,
        properties: { ...f.properties, distanceM: Math.round(d * 100) / 100 },
      }))
    : page.map(({ f }) => f);
  const result: QueryResult = { features, matched: matched.length };
  if (end < matched.length && page.length > 0) {
    const last = page[page.length - 1]!;
    result.next = encodeCursor(q.near ? { id: last.f.id, d: last.d } : { id: last.f.id });
  }
  return result;
}
