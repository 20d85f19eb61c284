import { NotFoundError } from '../core/errors.js';
import { cityStream, ENTITY_KINDS, type EntityKind, entityStream } from '../domain/streams.js';
import type { EventStore, RecordedEvent } from '../eventStore/port.js';
import type { LayerName, TwinFeature } from '../twin/changes.js';
import { createCityTwin } from '../twin/cityTwin.js';

/** One step of an entity's history: the event and the entity's feature right after it (null once removed). */
export interface HistoryStep {
  position: string;
  revision: number;
  id: string;
  type: string;
  recordedAt: string;
  occurredAt: string | null;
  actor: string | null;
  source: string | null;
  reason: string | null;
  data: unknown;
  feature: TwinFeature | null;
}

export interface EntityHistory {
  city: string;
  id: string;
  kind: EntityKind;
  layer: LayerName | null;
  steps: HistoryStep[];
}

/**
 * The states of one entity over time. The entity's stream is replayed into a twin of its own together with
 * the city's stream (merged by position), because a feature depends on the city too (emission factors turn
 * energy into CO2e); after each of the entity's events the feature is taken. A feature depends on nothing
 * else, so each state equals the entity's feature in an as-of twin at that event's position.
 */
export async function entityHistory(store: EventStore, city: string, id: string): Promise<EntityHistory> {
  let kind: EntityKind | undefined;
  const own: RecordedEvent[] = [];
  for (const k of ENTITY_KINDS) {
    for await (const event of store.readStream(entityStream(k, city, id))) own.push(event);
    if (own.length > 0) {
      kind = k;
      break;
    }
  }
  if (!kind) throw new NotFoundError(`No entity ${id} in ${city}`);
  const cityEvents: RecordedEvent[] = [];
  const last = own[own.length - 1]!.position;
  for await (const event of store.readStream(cityStream(city))) {
    if (event.position > last) break;
    cityEvents.push(event);
  }
  const twin = createCityTwin(city);
  const steps: HistoryStep[] = [];
  let layer: LayerName | null = null;
  let c = 0;
  for (const event of own) {
    while (c < cityEvents.length && cityEvents[c]!.position < event.position) twin.apply(cityEvents[c++]!);
    twin.apply(event);
    const found = twin.get(id);
    if (found) layer = found.layer;
    const meta = event.metadata as Record<string, unknown>;
    const text = (v: unknown) => (typeof v === 'string' ? v : null);
    steps.push({
      position: event.position.toString(),
      revision: event.revision,
      id: event.id,
      type: event.type,
      recordedAt: event.recordedAt,
      occurredAt: text(meta.occurredAt),
      actor: text(meta.actor),
      source: text(meta.source),
      reason: text(meta.reason),
      data: event.data,
      feature: found ? structuredClone(found.feature) : null,
    });
  }
  return { city, id, kind, layer, steps };
}
