import { kinks } from '@turf/turf';
import type { LineString, MultiPolygon, Point, Polygon, Position } from 'geojson';
import { type core, z } from 'zod';

/**
 * GeoJSON (RFC 7946) geometry schemas: `[longitude, latitude]` in WGS84, rings closed, exterior rings
 * counter-clockwise (the right-hand rule). Input in the other winding is rewound rather than rejected,
 * as RFC 7946 §3.1.6 asks of parsers; unclosed or self-intersecting rings are rejected.
 *
 * Every ingested footprint, location and path goes through these, so the ranges are checked in one loop
 * per coordinate array rather than by a refinement per number: the issues (path, message) and their order
 * are the ones a per-number check reports. zod 4 numbers are finite already (NaN, ±Infinity are invalid_type).
 */

const coordinate = z.number();
/** The shape of a position (2 or 3 numbers), ranges not checked: the arrays holding it check them. */
const bareTuple = z.union([z.tuple([coordinate, coordinate]), z.tuple([coordinate, coordinate, coordinate])]);

type Ctx = core.$RefinementCtx<unknown>;

/** A parsed position's shape: what the union accepted (anything else already has its own issue). */
function isBarePosition(p: unknown): p is number[] {
  if (!Array.isArray(p) || (p.length !== 2 && p.length !== 3)) return false;
  for (let i = 0; i < p.length; i++) if (typeof p[i] !== 'number' || !Number.isFinite(p[i])) return false;
  return true;
}

/** Reports out-of-range longitude/latitude of one position; `at` is the path to it. */
function rangeIssues(p: readonly number[], at: PropertyKey[], ctx: Ctx): void {
  const lon = p[0]!;
  const lat = p[1]!;
  if (!(lon >= -180 && lon <= 180)) {
    ctx.addIssue({
      code: 'custom',
      message: `Longitude out of range: ${String(lon)}`,
      path: [...at, 0],
      input: lon,
    });
  }
  if (!(lat >= -90 && lat <= 90)) {
    ctx.addIssue({
      code: 'custom',
      message: `Latitude out of range: ${String(lat)}`,
      path: [...at, 1],
      input: lat,
    });
  }
}

/** `[lon, lat]` (an optional third altitude value is accepted and kept). */
export const positionSchema = bareTuple.superRefine((p, ctx) => rangeIssues(p, [], ctx));

/**
 * The ranges of every position of an array, in one pass. It runs even when some positions have the wrong
 * shape (a per-position check would still have run on the others), and keeps the issues in position order.
 */
function checkRanges(value: unknown, ctx: Ctx): void {
  if (!Array.isArray(value)) return;
  const before = ctx.issues.length;
  for (let i = 0; i < value.length; i++) {
    const p: unknown = value[i];
    if (!isBarePosition(p)) continue;
    const lon = p[0]!;
    const lat = p[1]!;
    // the common case, no allocation: both in range
    if (lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90) continue;
    rangeIssues(p, [i], ctx);
  }
  if (before > 0 && ctx.issues.length > before) {
    // shape issues of positions were reported while parsing them: merge by position (a stable sort)
    ctx.issues.sort((a, b) => Number(a.path?.[0] ?? -1) - Number(b.path?.[0] ?? -1));
  }
}
const positions = () => z.array(bareTuple).superRefine(checkRanges, { when: () => true });

export const pointSchema = z.strictObject({
  type: z.literal('Point'),
  coordinates: positionSchema,
}) satisfies z.ZodType<Point>;

export const lineStringSchema = z.strictObject({
  type: z.literal('LineString'),
  coordinates: positions().min(2, 'a LineString needs at least 2 positions').max(10_000),
}) satisfies z.ZodType<LineString>;

const samePosition = (a: readonly number[], b: readonly number[]) => a[0] === b[0] && a[1] === b[1];

const linearRing = positions()
  .min(4, 'a linear ring needs at least 4 positions')
  .max(10_000)
  // zod runs refinements after a failed `min` too: a ring too short is already reported, not a crash here
  .refine((ring) => ring.length < 4 || samePosition(ring[0]!, ring[ring.length - 1]!), {
    message: 'ring is not closed: the last position must equal the first',
  });

/** turf's `booleanClockwise`: the sign of the ring's shoelace sum. */
function isClockwise(ring: readonly Position[]): boolean {
  let sum = 0;
  for (let i = 1; i < ring.length; i++) {
    const prev = ring[i - 1]!;
    const cur = ring[i]!;
    sum += (cur[0]! - prev[0]!) * (cur[1]! + prev[1]!);
  }
  return sum > 0;
}

/**
 * RFC 7946 winding, as turf's `rewind` gives it: exterior counter-clockwise, holes clockwise. In place:
 * the rings are zod's fresh copies, never the caller's input; a ring already right is left alone.
 */
function rewindRings(rings: Position[][]): void {
  for (let i = 0; i < rings.length; i++) {
    const ring = rings[i]!;
    if (isClockwise(ring) === (i === 0)) ring.reverse();
  }
}

const polygonShape = z.strictObject({
  type: z.literal('Polygon'),
  coordinates: z.array(linearRing).min(1, 'a Polygon needs an exterior ring').max(1_000),
});

/** A simple polygon: closed rings, no self-intersection; returned with RFC 7946 winding. */
export const polygonSchema = polygonShape
  .refine((polygon) => kinks(polygon as Polygon).features.length === 0, {
    message: 'polygon is self-intersecting',
  })
  .transform((polygon) => {
    rewindRings(polygon.coordinates);
    return polygon as Polygon;
  });

export const multiPolygonSchema = z
  .strictObject({
    type: z.literal('MultiPolygon'),
    coordinates: z.array(z.array(linearRing).min(1)).min(1).max(1_000),
  })
  .refine((mp) => kinks(mp as MultiPolygon).features.length === 0, {
    message: 'multipolygon is self-intersecting',
  })
  .transform((mp) => {
    for (const polygon of mp.coordinates) rewindRings(polygon);
    return mp as MultiPolygon;
  });

export const areaSchema = z.union([polygonSchema, multiPolygonSchema]);

export type { LineString, MultiPolygon, Point, Polygon };
