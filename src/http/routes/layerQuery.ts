import { ValidationError } from '../../core/errors.js';
import { validationErrorFromZod } from '../../core/zodIssues.js';
import { areaSchema } from '../../domain/geometry.js';
import type { LayerName } from '../../twin/changes.js';
import type { BBox } from '../../twin/geo.js';
import { LAYER_FILTERS, type LayerQuery } from '../../twin/query.js';

/** Parameters every layer read accepts besides its attribute filters (time travel ones are read elsewhere). */
const COMMON_PARAMS = ['bbox', 'near', 'radius', 'kind', 'limit', 'cursor', 'at', 'position', 'validAt'];
export const MAX_LIMIT = 100_000;
export const MAX_RADIUS_M = 50_000;

const bad = (field: string, value: unknown, message: string) =>
  new ValidationError(`Invalid ${field}: ${JSON.stringify(value)}`, [{ field, value, message }]);

function numbers(field: string, value: string, count: number): number[] {
  const parts = value.split(',');
  const nums = parts.map((p) => (p.trim() === '' ? Number.NaN : Number(p)));
  if (parts.length !== count || nums.some((n) => !Number.isFinite(n))) {
    throw bad(field, value, `must be ${count} comma-separated numbers`);
  }
  return nums;
}

const lonOk = (v: number) => v >= -180 && v <= 180;
const latOk = (v: number) => v >= -90 && v <= 90;

/**
 * Turns the query string (and, for `within`, the POST body) of a layer request into a LayerQuery. Unknown
 * parameters and bad values throw a ValidationError naming the parameter and the value.
 * @example parseLayerQuery('mobility', { near: '26.1,44.43', radius: '500', kind: 'ev-charger' })
 */
export function parseLayerQuery(
  layer: LayerName,
  query: Record<string, unknown>,
  body?: unknown,
): LayerQuery {
  const allowed = new Set([...COMMON_PARAMS, ...LAYER_FILTERS[layer]]);
  for (const key of Object.keys(query)) {
    if (!allowed.has(key)) {
      throw new ValidationError(`Unknown query parameter: ${key}`, [
        {
          field: key,
          value: query[key],
          message: `not a parameter of the ${layer} layer (${[...allowed].join(', ')})`,
        },
      ]);
    }
  }
  const str = (name: string): string | undefined => {
    const v = query[name];
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string') throw bad(name, v, 'must be given once');
    return v;
  };
  const q: LayerQuery = {};

  const bbox = str('bbox');
  if (bbox !== undefined) {
    const [minLon, minLat, maxLon, maxLat] = numbers('bbox', bbox, 4) as BBox;
    if (!lonOk(minLon) || !lonOk(maxLon) || !latOk(minLat) || !latOk(maxLat)) {
      throw bad('bbox', bbox, 'longitudes must be within [-180, 180] and latitudes within [-90, 90]');
    }
    if (minLon > maxLon || minLat > maxLat) throw bad('bbox', bbox, 'must be minLon,minLat,maxLon,maxLat');
    q.bbox = [minLon, minLat, maxLon, maxLat];
  }

  const near = str('near');
  const radius = str('radius');
  if (near !== undefined) {
    const [lon, lat] = numbers('near', near, 2) as [number, number];
    if (!lonOk(lon) || !latOk(lat)) throw bad('near', near, 'must be lon,lat in WGS84');
    if (radius === undefined) throw bad('radius', radius, 'is required with near (metres)');
    const r = Number(radius);
    if (!Number.isFinite(r) || r <= 0 || r > MAX_RADIUS_M) {
      throw bad('radius', radius, `must be a number of metres in (0, ${MAX_RADIUS_M}]`);
    }
    q.near = { lon, lat, radiusM: r };
  } else if (radius !== undefined) {
    throw bad('radius', radius, 'needs near=lon,lat');
  }

  const kind = str('kind');
  if (kind !== undefined) q.kinds = kind.split(',').filter(Boolean);
  for (const name of LAYER_FILTERS[layer]) {
    const v = str(name);
    if (v !== undefined) q.filters = { ...q.filters, [name]: v.split(',').filter(Boolean) };
  }

  const limit = str('limit');
  if (limit !== undefined) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) {
      throw bad('limit', limit, `must be an integer from 1 to ${MAX_LIMIT}`);
    }
    q.limit = n;
  }
  const cursor = str('cursor');
  if (cursor !== undefined) q.cursor = cursor;

  if (body !== undefined) {
    // A geometry, or a Feature carrying one (what map tools export).
    const candidate =
      body && typeof body === 'object' && (body as { type?: unknown }).type === 'Feature'
        ? (body as { geometry?: unknown }).geometry
        : body;
    const parsed = areaSchema.safeParse(candidate);
    if (!parsed.success) {
      throw validationErrorFromZod(parsed.error, {
        input: candidate,
        what: 'Invalid within: the body must be a GeoJSON Polygon or MultiPolygon',
        prefix: 'within',
      });
    }
    q.within = parsed.data;
  }
  return q;
}
