import { kinks, rewind } from '@turf/turf';
import type { LineString, MultiPolygon, Point, Polygon } from 'geojson';
import { z } from 'zod';

/**
 * GeoJSON (RFC 7946) geometry schemas: `[longitude, latitude]` in WGS84, rings closed, exterior rings
 * counter-clockwise (the right-hand rule). Input in the other winding is rewound rather than rejected,
 * as RFC 7946 §3.1.6 asks of parsers; unclosed or self-intersecting rings are rejected.
 */

const longitude = z
  .number()
  .refine(Number.isFinite, { message: 'must be a finite number' })
  .refine((v) => v >= -180 && v <= 180, { error: (iss) => `Longitude out of range: ${String(iss.input)}` });
const latitude = z
  .number()
  .refine(Number.isFinite, { message: 'must be a finite number' })
  .refine((v) => v >= -90 && v <= 90, { error: (iss) => `Latitude out of range: ${String(iss.input)}` });

/** `[lon, lat]` (an optional third altitude value is accepted and kept). */
export const positionSchema = z.union([
  z.tuple([longitude, latitude]),
  z.tuple([longitude, latitude, z.number().refine(Number.isFinite, 'must be a finite number')]),
]);

export const pointSchema = z.strictObject({
  type: z.literal('Point'),
  coordinates: positionSchema,
}) satisfies z.ZodType<Point>;

export const lineStringSchema = z.strictObject({
  type: z.literal('LineString'),
  coordinates: z.array(positionSchema).min(2, 'a LineString needs at least 2 positions').max(10_000),
}) satisfies z.ZodType<LineString>;

const samePosition = (a: readonly number[], b: readonly number[]) => a[0] === b[0] && a[1] === b[1];

const linearRing = z
  .array(positionSchema)
  .min(4, 'a linear ring needs at least 4 positions')
  .max(10_000)
  // zod runs refinements after a failed `min` too: a ring too short is already reported, not a crash here
  .refine((ring) => ring.length < 4 || samePosition(ring[0]!, ring[ring.length - 1]!), {
    message: 'ring is not closed: the last position must equal the first',
  });

const polygonShape = z.strictObject({
  type: z.literal('Polygon'),
  coordinates: z.array(linearRing).min(1, 'a Polygon needs an exterior ring').max(1_000),
});

/** A simple polygon: closed rings, no self-intersection; returned with RFC 7946 winding. */
export const polygonSchema = polygonShape
  .refine((polygon) => kinks(polygon as Polygon).features.length === 0, {
    message: 'polygon is self-intersecting',
  })
  .transform((polygon) => rewind(polygon as Polygon) as Polygon);

export const multiPolygonSchema = z
  .strictObject({
    type: z.literal('MultiPolygon'),
    coordinates: z.array(z.array(linearRing).min(1)).min(1).max(1_000),
  })
  .refine((mp) => kinks(mp as MultiPolygon).features.length === 0, {
    message: 'multipolygon is self-intersecting',
  })
  .transform((mp) => rewind(mp as MultiPolygon) as MultiPolygon);

export const areaSchema = z.union([polygonSchema, multiPolygonSchema]);

export type { LineString, MultiPolygon, Point, Polygon };
