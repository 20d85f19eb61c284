import { ConflictError, DomainRuleError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { DomainEvent, StreamKindOfEvent } from '../domain/events.js';
import type { EventMetadata } from '../domain/metadata.js';
import { assertCityId, cityStream, type EntityKind, entityStream } from '../domain/streams.js';
import { decideEvent, evolveState, referencedEntities, type WriteState } from '../domain/writeState.js';
import type { NewEvent } from '../eventStore/port.js';
import { fail, type ParsedItem, parseItems } from './parseItems.js';
import type { LoadedStream, StateLoader } from './stateLoader.js';
import type { ItemResult, WriteContext } from './types.js';

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
  /** Whether each event's id was given by the client (only those are remembered for retries). */
  idGiven: boolean[];
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
  return planParsed(city, parseItems(city, items, ctx.now), ctx, loader);
}

/** planBatch for items already parsed (in process or by the parse workers) for `city`, in batch order. */
export async function planParsed(
  city: string,
  parsed: readonly ParsedItem[],
  ctx: WriteContext & { now: Date },
  loader: StateLoader,
): Promise<BatchPlan> {
  assertUniqueIds(parsed);

  // Load every stream the batch touches or refers to, once.
  const needed = new Map<string, StreamKindOfEvent>([[cityStream(city), 'city']]);
  for (const item of parsed) {
    needed.set(item.stream, item.kind);
    for (const ref of referencedEntities(item.event))
      needed.set(entityStream(ref.kind, city, ref.entityId), ref.kind);
  }
  const loaded = new Map<string, LoadedStream>();
  const reads: Promise<void>[] = [];
  for (const [stream, kind] of needed) {
    const found = loader.load(stream, kind);
    if (found instanceof Promise) reads.push(found.then((l) => void loaded.set(stream, l)));
    else loaded.set(stream, found);
  }
  if (reads.length > 0) await Promise.all(reads);
  const states = new Map<string, WriteState>();
  for (const [stream, l] of loaded) states.set(stream, l.state);

  const writes = new Map<string, PlannedWrite>();
  const duplicates: ItemResult[] = [];
  // One lookup for the rules of every item (referenced entities: a link's end nodes, a session's charger)
  const stateOf = (kind: EntityKind, entityId: string) =>
    states.get(entityStream(kind, city, entityId)) as never;
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

    const decided = decideItem(city, item, states, stateOf, ctx.now);
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
        idGiven: [],
        finalState: stream.state,
      };
      writes.set(item.stream, write);
    }
    for (let i = 0; i < decided.length; i++) {
      const event = decided[i]!;
      const planned: NewEvent<unknown, EventMetadata> = {
        // One proposed item normally yields one event, which keeps the item's id.
        id: i === 0 ? item.id : newId(),
        type: event.type,
        data: event.data,
        metadata: metadataFor(item, ctx),
      };
      // The text written while parsing still says the data when the rules kept the item's data as it was
      if (item.dataText !== undefined && event.data === item.event.data) planned.dataText = item.dataText;
      write.events.push(planned);
      write.indexes.push(item.index);
      write.idGiven.push(i === 0 && item.idGiven);
    }
  }
  for (const write of writes.values()) write.finalState = states.get(write.stream)!;
  return { city, writes: [...writes.values()], duplicates, size: parsed.length };
}

function decideItem(
  city: string,
  item: ParsedItem,
  states: Map<string, WriteState>,
  stateOf: (kind: EntityKind, entityId: string) => never,
  now: Date,
): DomainEvent[] {
  const state = states.get(item.stream)!;
  try {
    const events = decideEvent(item.event, state, {
      now,
      city,
      cityState: states.get(cityStream(city)) as never,
      entityId: item.entityId ?? city,
      stateOf,
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

function assertUniqueIds(items: readonly ParsedItem[]): void {
  const seen = new Map<string, number>();
  for (const item of items) {
    const first = seen.get(item.id);
    if (first !== undefined) {
      fail(item.index, 'id', item.id, `repeats the id of the event at index ${first}`);
    }
    seen.set(item.id, item.index);
  }
}
