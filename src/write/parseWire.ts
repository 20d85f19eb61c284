import type { WireError } from '../core/errors.js';
import type { StreamKindOfEvent } from '../domain/events.js';

/**
 * What the write path posts to a parse worker: a chunk of a batch's items (starting at batch index
 * `offset`), or an ingest body's JSON text with the share of its items this worker parses (part k of n).
 */
export type ParseJob = { job: number; city: string; nowMs: number } & (
  | { kind: 'items'; offset: number; items: unknown[] }
  | { kind: 'body'; text: string; maxBatch: number; share: [number, number] }
);

/** A parsed item as it comes back from a worker: the data as its canonical JSON text. */
export interface WireItem {
  index: number;
  id: string;
  idGiven: boolean;
  type: string;
  dataText: string;
  kind: StreamKindOfEvent;
  entityId: string | undefined;
  stream: string;
  occurredAt: string | undefined;
  reason: string | undefined;
}

/** A worker's answer: the items parsed (and, for a body, the batch's size, source and reason), or the error. */
export type ParseReply =
  | { job: number; items: WireItem[]; size?: number; source?: string; reason?: string }
  | { job: number; error: WireError };
