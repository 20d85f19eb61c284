import jsonPatch, { type Operation } from 'fast-json-patch';
import { LAYER_OF_KIND, PROJECTIONS } from '../../projections/registry.js';
import { ENTITY_KINDS, type EntityKind, entityStream } from '../domain/streams.js';
import type { EventStore, RecordedEvent } from '../eventStore/port.js';
import { type AuditEvent, toAuditEvent } from './eventQuery.js';

/** One event of an entity's history with what it changed in the entity's projected state. */
export interface EntityHistoryEntry extends AuditEvent {
  kind: EntityKind;
  /** RFC 6902 JSON Patch turning the projected state before the event into the state after it. */
  patch: Operation[];
}

export interface EntityHistory {
  city: string;
  id: string;
  /** Every event of the entity, in global order, with its full metadata and patch. */
  events: EntityHistoryEntry[];
  /** The projected state after the last event (null once the entity left its layer, e.g. demolished). */
  state: Record<string, unknown> | null;
}

type Evolve = (state: unknown, event: unknown, env: { entityId: string; occurredAt: string }) => unknown;

/**
 * The full history of one entity of a city, looked up in every kind's stream (`building-|mobility-|grid-
 * <city>.<id>`), each event with the JSON Patch of its effect on the state the twin's own projection
 * (projections/) derives, so "what changed" means what changed in the twin, not just the event's payload.
 * Undefined when no stream of that entity exists.
 */
export async function entityHistory(
  store: EventStore,
  city: string,
  id: string,
): Promise<EntityHistory | undefined> {
  const entries: EntityHistoryEntry[] = [];
  let finalState: unknown;
  for (const kind of ENTITY_KINDS) {
    const projection = PROJECTIONS[LAYER_OF_KIND[kind]];
    const evolve = projection.evolve as unknown as Evolve;
    const types = new Set<string>(projection.eventTypes);
    let state: unknown;
    let found = false;
    for await (const event of store.readStream(entityStream(kind, city, id))) {
      found = true;
      const before = state;
      if (types.has(event.type)) state = evolve(state, event, envelope(id, event));
      entries.push({ ...toAuditEvent(event), kind, patch: diff(before, state) });
    }
    if (found) finalState = state;
  }
  if (entries.length === 0) return undefined;
  entries.sort((a, b) => (BigInt(a.position) < BigInt(b.position) ? -1 : 1));
  return {
    city,
    id,
    events: entries,
    state: (finalState as Record<string, unknown> | undefined) ?? null,
  };
}

function envelope(entityId: string, event: RecordedEvent): { entityId: string; occurredAt: string } {
  const occurredAt = event.metadata.occurredAt;
  return { entityId, occurredAt: typeof occurredAt === 'string' ? occurredAt : event.recordedAt };
}

/** The patch between two projected states; an absent state is the empty document. */
function diff(before: unknown, after: unknown): Operation[] {
  // Round-trip through JSON so the patch describes what a client sees (no undefined members).
  const a = JSON.parse(JSON.stringify(before ?? {})) as object;
  const b = JSON.parse(JSON.stringify(after ?? {})) as object;
  return jsonPatch.compare(a, b);
}
