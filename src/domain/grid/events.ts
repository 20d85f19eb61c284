import { z } from 'zod';
import { lineStringSchema, pointSchema } from '../geometry.js';

export const NETWORKS = ['electricity', 'district-heating', 'gas'] as const;
export const GRID_NODE_KINDS = ['substation', 'transformer', 'junction', 'plant', 'pv'] as const;
export type Network = (typeof NETWORKS)[number];
export type GridNodeKind = (typeof GRID_NODE_KINDS)[number];

const elementId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, 'must be an entity id');

export const gridNodeAddedSchema = z.strictObject({
  network: z.enum(NETWORKS),
  nodeKind: z.enum(GRID_NODE_KINDS),
  location: pointSchema,
  /** Rated capacity in kW (thermal kW for district heating and gas). */
  capacityKw: z.number().positive().max(1e9).optional(),
  name: z.string().max(500).optional(),
  district: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/)
    .optional(),
});

export const gridLinkAddedSchema = z
  .strictObject({
    network: z.enum(NETWORKS),
    /** Entity ids of the two end nodes (existing nodes of the same network). */
    fromNode: elementId,
    toNode: elementId,
    path: lineStringSchema,
    capacityKw: z.number().positive().max(1e9),
    name: z.string().max(500).optional(),
  })
  .refine((l) => l.fromNode !== l.toNode, { message: 'a link joins two different nodes', path: ['toNode'] });

export const gridLoadReportedSchema = z.strictObject({
  loadKw: z.number().min(-1e9).max(1e9),
});

export const gridElementFailedSchema = z.strictObject({
  cause: z.string().max(500).optional(),
  incidentId: z.string().max(200).optional(),
  /** Which service is interrupted, where an element carries several (district heating: heating, hot water). */
  service: z.string().max(100).optional(),
});

export const gridElementRestoredSchema = z.strictObject({
  incidentId: z.string().max(200).optional(),
  service: z.string().max(100).optional(),
});

export const gridElementRemovedSchema = z.strictObject({});

export const gridEventSchemas = {
  GridNodeAdded: gridNodeAddedSchema,
  GridLinkAdded: gridLinkAddedSchema,
  GridLoadReported: gridLoadReportedSchema,
  GridElementFailed: gridElementFailedSchema,
  GridElementRestored: gridElementRestoredSchema,
  GridElementRemoved: gridElementRemovedSchema,
} as const;

type Of<K extends keyof typeof gridEventSchemas> = { type: K; data: z.infer<(typeof gridEventSchemas)[K]> };
export type GridNodeAdded = Of<'GridNodeAdded'>;
export type GridLinkAdded = Of<'GridLinkAdded'>;
export type GridLoadReported = Of<'GridLoadReported'>;
export type GridElementFailed = Of<'GridElementFailed'>;
export type GridElementRestored = Of<'GridElementRestored'>;
export type GridElementRemoved = Of<'GridElementRemoved'>;
export type GridEvent =
  | GridNodeAdded
  | GridLinkAdded
  | GridLoadReported
  | GridElementFailed
  | GridElementRestored
  | GridElementRemoved;
