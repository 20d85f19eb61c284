import { ConflictError, DomainRuleError, type FieldIssue, ValidationError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { validationErrorFromZod } from '../core/zodIssues.js';
import { type DomainEvent, EVENT_TYPES, eventDefinition, type StreamKindOfEvent } from '../domain/events.js';
import type { EventMetadata } from '../domain/metadata.js';
import { FUTURE_TOLERANCE_MS } from '../domain/rules.js';
import { assertCityId, cityStream, entityStream } from '../domain/streams.js';
import { decideEvent, evolveState, referencedEntities, type WriteState } from '../domain/writeState.js';
import type { NewEvent } from '../eventStore/port.js';
import type { LoadedStream, StateLoader } from './stateLoader.js';
import { type ItemResult, proposedItemSchema, type WriteContext } from './types.js';

/** A parsed, typed item: its event, the stream it belongs to, and its id (given or fresh). */
interface ParsedItem {
  index: number;
  id: string;
  idGiven: boolean;
  event: DomainEvent;
  kind: StreamKindOfEvent;
  entityId: string | undefined;
  stream: string;
  occurredAt: string | undefined;
  reason: string | undefined;
}

/** The events to append to one stream, decided against the stream at `baseRevision`. */
export interface PlannedWrite {
  stream: string;
  loaded: LoadedStream;
  /** The stream's revision the events were decided against (-1: no stream): the expected revision. */
  baseRevision: number;
  /** The hash the first event chains from. */
  prevHash: string;
  events: NewEvent<unknown, EventMetadata>[];
  /** Batch index of each event. */
  indexes: number[];
  /** The stream's state after these events (what the stream folds into once they are appended). */
  finalState: WriteState;
}

/** The outcome of deciding a batch: writes to make, and the results already known (retries of stored ids). */
export interface BatchPlan {
  city: string;
  writes: PlannedWrite[];
  duplicates: ItemResult[];
  size: number;
}

/**
 * Parses every item (unknown fields rejected), loads each touched stream once, answers retries of stored
 * ids, and decides every other item in order against the state as it evolves within the batch. Throws
 * (naming index, field and value) on the first bad item; then nothing may be appended.
 */
export async function planBatch(
  cityInput: string,
  items: readonly unknown[],
  ctx: WriteContext & { now: Date },
  loader: StateLoader,
): Promise<BatchPlan> {
  const city = assertCityId(cityInput);
  const parsed = items.map((item, index) => parseItem(city, item, index, ctx.now));
  assertUniqueIds(parsed);

  // Load every stream the batch touches or refers to, once.
  const needed = new Map<string, StreamKindOfEvent>([[cityStream(city), 'city']]);
  for (const item of parsed) {
    needed.set(item.stream, item.kind);
    for (const ref of referencedEntities(item.event))
      needed.set(entityStream(ref.kind, city, ref.entityId), ref.kind);
  }
  const loadedList = await Promise.all([...needed].map(([stream, kind]) => loader.load(stream, kind)));
  const loaded = new Map(loadedList.map((l) => [l.stream, l]));
  const states = new Map<string, WriteState>(loadedList.map((l) => [l.stream, l.state]));

  const writes = new Map<string, PlannedWrite>();
  const duplicates: ItemResult[] = [];
  for (const item of parsed) {
    const stream = loaded.get(item.stream)!;
    const stored = item.idGiven ? stream.ids.get(item.id) : undefined;
    if (stored) {
      if (stored.type !== item.event.type) {
        throw new ConflictError(
          `Event at index ${item.index}: id ${item.id} is already stored as a ${stored.type} in ${item.stream}`,
          [
            {
              index: item.index,
              field: 'id',
              value: item.id,
              message: `is already used by a ${stored.type}`,
            },
          ],
        );
      }
      duplicates.push({
        index: item.index,
        id: item.id,
        type: stored.type,
        stream: item.stream,
        revision: stored.revision,
        position: stored.position.toString(),
        duplicate: true,
      });
      continue;
    }

    const decided = decideItem(city, item, states, ctx.now);
    let write = writes.get(item.stream);
    if (!write) {
      // Captured now: a shared cache may advance `stream` later, but these events were decided against this.
      write = {
        stream: item.stream,
        loaded: stream,
        baseRevision: stream.revision,
        prevHash: stream.lastHash,
        events: [],
        indexes: [],
        finalState: stream.state,
      };
      writes.set(item.stream, write);
    }
    decided.forEach((event, i) => {
      write.events.push({
        // One proposed item normally yields one event, which keeps the item's id.
        id: i === 0 ? item.id : newId(),
        type: event.type,
        data: event.data,
        metadata: metadataFor(item, ctx),
      });
      write.indexes.push(item.index);
    });
  }
  for (const write of writes.values()) write.finalState = states.get(write.stream)!;
  return { city, writes: [...writes.values()], duplicates, size: parsed.length };
}

function decideItem(
  city: string,
  item: ParsedItem,
  states: Map<string, WriteState>,
  now: Date,
): DomainEvent[] {
  const state = states.get(item.stream)!;
  try {
    const events = decideEvent(item.event, state, {
      now,
      city,
      cityState: states.get(cityStream(city)) as never,
      entityId: item.entityId ?? city,
      stateOf: (kind, entityId) => states.get(entityStream(kind, city, entityId)) as never,
    });
    let next = state;
    for (const event of events) next = evolveState(next, event);
    states.set(item.stream, next);
    return events;
  } catch (err) {
    if (err instanceof DomainRuleError) {
      throw new DomainRuleError(
        `Event at index ${item.index} (${item.event.type}${item.entityId ? ` ${item.entityId}` : ''}): ${err.message}`,
        err.issues.map((i) => ({ ...i, index: item.index })),
      );
    }
    throw err;
  }
}

function metadataFor(item: ParsedItem, ctx: WriteContext & { now: Date }): EventMetadata {
  const metadata: EventMetadata = {
    actor: ctx.actor,
    source: ctx.source,
    occurredAt: item.occurredAt ?? ctx.now.toISOString(),
    correlationId: ctx.correlationId,
    causationId: ctx.causationId ?? null,
  };
  const reason = item.reason ?? ctx.reason;
  // Absent rather than undefined: the hash is computed over the canonical JSON of the metadata.
  if (reason !== undefined) metadata.reason = reason;
  return metadata;
}

function fail(index: number, field: string, value: unknown, message: string): never {
  const issue: FieldIssue = { index, field, value, message };
  throw new ValidationError(
    `Event at index ${index}: ${field} ${message} (value: ${JSON.stringify(value) ?? 'undefined'})`,
    [issue],
  );
}

function parseItem(city: string, input: unknown, index: number, now: Date): ParsedItem {
  const envelope = proposedItemSchema.safeParse(input);
  if (!envelope.success) {
    throw validationErrorFromZod(envelope.error, { input, index, what: 'Invalid event' });
  }
  const item = envelope.data;
  const definition = eventDefinition(item.type);
  if (!definition) {
    fail(index, 'type', item.type, `is not an event type (one of ${EVENT_TYPES.join(', ')})`);
  }
  const data = definition.schema.safeParse(item.data);
  if (!data.success) {
    throw validationErrorFromZod(data.error, {
      input: item.data,
      index,
      prefix: 'data',
      what: 'Invalid event',
    });
  }
  if (item.occurredAt && Date.parse(item.occurredAt) > now.getTime() + FUTURE_TOLERANCE_MS) {
    fail(index, 'occurredAt', item.occurredAt, `is in the future (now is ${now.toISOString()})`);
  }
  let stream: string;
  if (definition.kind === 'city') {
    if (item.entityId !== undefined && item.entityId !== city) {
      fail(
        index,
        'entityId',
        item.entityId,
        `must be absent for a city event (the stream is the city's own)`,
      );
    }
    stream = cityStream(city);
  } else {
    if (item.entityId === undefined) fail(index, 'entityId', undefined, `is required for ${item.type}`);
    stream = entityStream(definition.kind, city, item.entityId);
  }
  return {
    index,
    id: item.id ?? newId(),
    idGiven: item.id !== undefined,
    event: { type: item.type, data: data.data } as DomainEvent,
    kind: definition.kind,
    entityId: definition.kind === 'city' ? undefined : item.entityId,
    stream,
    occurredAt: item.occurredAt,
    reason: item.reason,
  };
}

function assertUniqueIds(items: ParsedItem[]): void {
  const seen = new Map<string, number>();
  for (const item of items) {
    const first = seen.get(item.id);
    if (first !== undefined) {
      fail(item.index, 'id', item.id, `repeats the id of the event at index ${first}`);
    }
    seen.set(item.id, item.index);
  }
}
