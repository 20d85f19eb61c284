import { eventHash, GENESIS_HASH, recordedHash } from '../audit/hashChain.js';
import type { StreamKindOfEvent } from '../domain/events.js';
import { evolveState, initialState, type WriteState } from '../domain/writeState.js';
import type { EventStore, Position, RecordedEvent } from '../eventStore/port.js';

/** Where an already stored event landed (for answering a retry with the original result). */
export interface StoredAt {
  type: string;
  revision: number;
  position: Position;
}

/**
 * Ids a stream keeps for recognising retries: those of its last RETRY_WINDOW events read from the store, and
 * of the client-given ids among the events written since (a server-made id cannot be sent again by a client
 * before it was answered). Bounded so that a writer's memory does not grow with every event it ingests: a
 * busy vehicle writes a stream of millions of reports, and a map entry per event was ~150 bytes each for
 * the life of the process. A retry older than the window is appended as a new event.
 */
export const RETRY_WINDOW = 1_000;

/** A stream as the write side needs it: its folded state, where it stands, its last hash and its ids. */
export interface LoadedStream {
  stream: string;
  /** Revision of the stream's last event; -1 when the stream does not exist. */
  revision: number;
  /** `metadata.hash` of the last event (GENESIS_HASH for a new stream): the next event chains from it. */
  lastHash: string;
  state: WriteState;
  /** Recent ids (see RETRY_WINDOW), oldest first. */
  ids: Map<string, StoredAt>;
}

/** Records an id a retry may name, forgetting the oldest beyond RETRY_WINDOW. */
export function rememberId(loaded: LoadedStream, id: string, at: StoredAt): void {
  loaded.ids.delete(id);
  loaded.ids.set(id, at);
  if (loaded.ids.size > RETRY_WINDOW) loaded.ids.delete(loaded.ids.keys().next().value!);
}

/**
 * Supplies stream states to the write pipeline. The default reads the entity's own stream from the store;
 * a scenario supplies states from the real stream up to its fork plus its overlay.
 */
export interface StateLoader {
  /** The stream's state; directly when the loader has it at hand (no promise per stream of a batch). */
  load(stream: string, kind: StreamKindOfEvent): LoadedStream | Promise<LoadedStream>;
}

/** Folds recorded events (in revision order) into a LoadedStream. */
export function foldStream(
  stream: string,
  kind: StreamKindOfEvent,
  events: Iterable<RecordedEvent>,
): LoadedStream {
  const loaded: LoadedStream = {
    stream,
    revision: -1,
    lastHash: GENESIS_HASH,
    state: initialState(kind),
    ids: new Map(),
  };
  for (const event of events) appendToLoaded(loaded, event);
  return loaded;
}

/** Advances a LoadedStream by one recorded event. */
export function appendToLoaded(loaded: LoadedStream, event: RecordedEvent): void {
  loaded.state = evolveState(loaded.state, event);
  loaded.revision = event.revision;
  loaded.lastHash = recordedHash(event) ?? eventHash(event);
  rememberId(loaded, event.id, { type: event.type, revision: event.revision, position: event.position });
}

/** Reads each stream in full from the store. */
export function createStoreStateLoader(store: EventStore): StateLoader {
  return {
    async load(stream, kind) {
      const events: RecordedEvent[] = [];
      for await (const event of store.readStream(stream)) events.push(event);
      return foldStream(stream, kind, events);
    },
  };
}
