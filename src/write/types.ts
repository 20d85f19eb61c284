import { z } from 'zod';
import { ENTITY_ID_PATTERN } from '../domain/streams.js';

/**
 * One proposed event, as it comes from a source (HTTP ingest, import, seeds, scenarios). `id` is the
 * idempotency key: a retry with the same id writes nothing twice. `entityId` names the building, asset or
 * grid element (absent for city events, whose stream is the city's own).
 */
export const proposedItemSchema = z.strictObject({
  id: z.uuid().optional(),
  type: z.string().min(1).max(100),
  entityId: z.string().regex(ENTITY_ID_PATTERN, 'must be an entity id (letters, digits, _ . : -)').optional(),
  data: z.unknown(),
  occurredAt: z.iso.datetime({ offset: true }).optional(),
  reason: z.string().max(2_000).optional(),
});
export type ProposedItem = z.input<typeof proposedItemSchema>;

/** Provenance of a batch: who (the authenticated actor, never from a body), from where, why, which request. */
export interface WriteContext {
  actor: string;
  source: string;
  correlationId: string;
  causationId?: string | null;
  /** Default reason for items that carry none. */
  reason?: string;
  /** Defaults to the writer's clock. */
  now?: Date;
}

/** What happened to one item of a batch. `duplicate`: its id was already stored; nothing was written. */
export interface ItemResult {
  index: number;
  id: string;
  type: string;
  stream: string;
  revision: number;
  /** Global position, as a decimal string. */
  position: string;
  duplicate: boolean;
}

export interface BatchResult {
  results: ItemResult[];
  /** How many events were appended (the others were retries of stored ones). */
  appended: number;
}
