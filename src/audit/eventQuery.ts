import type { EventStore, Position, RecordedEvent } from '../eventStore/port.js';
import type { ScenarioCityResolver } from './cityStreams.js';
import { cityStreamSelector } from './cityStreams.js';

/** Filters of the audit event search; every given criterion must match. */
export interface AuditEventQuery {
  city?: string;
  actor?: string;
  source?: string;
  types?: string[];
  correlationId?: string;
  /** Inclusive bounds on the store's `recordedAt` (ISO 8601). */
  recordedFrom?: string;
  recordedTo?: string;
  /** Inclusive bounds on `metadata.occurredAt` (ISO 8601). */
  occurredFrom?: string;
  occurredTo?: string;
}

/** An event as the audit API shows it: the whole envelope, position as a decimal string. */
export interface AuditEvent {
  id: string;
  type: string;
  stream: string;
  revision: number;
  position: string;
  recordedAt: string;
  data: unknown;
  metadata: Record<string, unknown>;
}

export function toAuditEvent(event: RecordedEvent): AuditEvent {
  return {
    id: event.id,
    type: event.type,
    stream: event.stream,
    revision: event.revision,
    position: event.position.toString(),
    recordedAt: event.recordedAt,
    data: event.data,
    metadata: event.metadata,
  };
}

function time(iso: string | undefined): number | undefined {
  return iso === undefined ? undefined : Date.parse(iso);
}

/** A predicate over events for the metadata and time criteria (the store filters streams and types). */
function metadataPredicate(q: AuditEventQuery): (event: RecordedEvent) => boolean {
  const rFrom = time(q.recordedFrom);
  const rTo = time(q.recordedTo);
  const oFrom = time(q.occurredFrom);
  const oTo = time(q.occurredTo);
  return (event) => {
    const m = event.metadata;
    if (q.actor !== undefined && m.actor !== q.actor) return false;
    if (q.source !== undefined && m.source !== q.source) return false;
    if (q.correlationId !== undefined && m.correlationId !== q.correlationId) return false;
    if (rFrom !== undefined || rTo !== undefined) {
      const t = Date.parse(event.recordedAt);
      if ((rFrom !== undefined && t < rFrom) || (rTo !== undefined && t > rTo)) return false;
    }
    if (oFrom !== undefined || oTo !== undefined) {
      const t = typeof m.occurredAt === 'string' ? Date.parse(m.occurredAt) : Number.NaN;
      if (Number.isNaN(t) || (oFrom !== undefined && t < oFrom) || (oTo !== undefined && t > oTo))
        return false;
    }
    return true;
  };
}

/**
 * Streams the events matching `q` from `from` (inclusive) in global order, one at a time, together with the
 * position of every event scanned (also the ones filtered out) so a page can end anywhere and resume there.
 * Nothing is buffered beyond what the store's reader holds.
 */
export async function* scanEvents(
  store: EventStore,
  q: AuditEventQuery,
  options: { from?: Position | 'start'; scenarioCity?: ScenarioCityResolver } = {},
): AsyncGenerator<{ position: Position; match?: RecordedEvent }> {
  const selector = q.city ? cityStreamSelector(q.city, options.scenarioCity) : undefined;
  const predicate = metadataPredicate(q);
  const filter: { streamPrefixes?: string[]; eventTypes?: string[] } = {};
  if (selector) filter.streamPrefixes = selector.prefixes;
  if (q.types && q.types.length > 0) filter.eventTypes = q.types;
  for await (const event of store.readAll({ fromPosition: options.from ?? 'start', filter })) {
    const ok = (!selector || (await selector.belongs(event.stream))) && predicate(event);
    yield ok ? { position: event.position, match: event } : { position: event.position };
  }
}

export interface AuditPage {
  events: AuditEvent[];
  /** Pass as `cursor` for the next page; null when the feed is exhausted. */
  nextCursor: string | null;
}

/**
 * One page of matching events: up to `limit` matches, scanning at most `scanBudget` events so a sparse
 * filter over a long history still answers promptly (a page may then hold fewer events than `limit`, with
 * a cursor to continue). The cursor is the global position to resume at.
 */
export async function auditPage(
  store: EventStore,
  q: AuditEventQuery,
  options: { cursor?: Position; limit: number; scanBudget?: number; scenarioCity?: ScenarioCityResolver },
): Promise<AuditPage> {
  const budget = options.scanBudget ?? 50_000;
  const events: AuditEvent[] = [];
  let scanned = 0;
  let last: Position | undefined;
  let exhausted = true;
  const scan = scanEvents(store, q, { from: options.cursor ?? 'start', scenarioCity: options.scenarioCity });
  try {
    for await (const item of scan) {
      scanned++;
      last = item.position;
      if (item.match) events.push(toAuditEvent(item.match));
      if (events.length >= options.limit || scanned >= budget) {
        exhausted = false;
        break;
      }
    }
  } finally {
    await scan.return(undefined);
  }
  if (exhausted || last === undefined) return { events, nextCursor: null };
  return { events, nextCursor: (last + 1n).toString() };
}
