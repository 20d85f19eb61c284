import type { Feature, Geometry } from 'geojson';

/** The layers of a city twin, as served under /cities/{city}/layers/{layer}. */
export const LAYERS = ['buildings', 'mobility', 'grid'] as const;
export type LayerName = (typeof LAYERS)[number];

/** A feature of a layer: `id` is the entity id; properties carry the entity's current attributes. */
export type TwinFeature = Feature<Geometry, Record<string, unknown>> & { id: string };

/**
 * What one applied event changed in a city's twin: the live gateway turns these into `changes` messages.
 * `upsert` carries the feature after the event; `remove` means the entity left the layer (demolished,
 * decommissioned, removed). `previous` is the feature before the event (absent for a new entity), so a
 * subscriber filtering by area can tell an entity that moved out of its bbox from one that stayed outside.
 */
export type TwinChange =
  | { op: 'upsert'; layer: LayerName; id: string; feature: TwinFeature; previous?: TwinFeature }
  | { op: 'remove'; layer: LayerName; id: string; previous: TwinFeature };

/** The changes one event caused, stamped with the event's global position (decimal string in JSON). */
export interface TwinChangeBatch {
  city: string;
  position: bigint;
  eventId: string;
  eventType: string;
  /** When it happened in the city (metadata.occurredAt). */
  occurredAt: string;
  changes: TwinChange[];
}

/** The batch of one applied event of `city`'s feed (a city, or a scenario's feed key). */
export function changeBatchOf(
  city: string,
  event: { position: bigint; id: string; type: string; metadata?: unknown; recordedAt?: string },
  changes: TwinChange[],
): TwinChangeBatch {
  const occurredAt = (event.metadata as { occurredAt?: unknown } | undefined)?.occurredAt;
  return {
    city,
    position: event.position,
    eventId: event.id,
    eventType: event.type,
    occurredAt: typeof occurredAt === 'string' ? occurredAt : (event.recordedAt ?? ''),
    changes,
  };
}
