import type { StreamKindOfEvent } from '../domain/events.js';
import { ENTITY_KINDS } from '../domain/streams.js';
import type { EventStore, NewEvent, Position } from '../eventStore/port.js';
import type { PlannedWrite } from './plan.js';
import {
  appendToLoaded,
  foldStream,
  type LoadedStream,
  rememberId,
  type StateLoader,
} from './stateLoader.js';

/**
 * A store-backed StateLoader that keeps recently written streams' states in memory, so a busy writer does
 * not re-read and re-fold an entity's whole stream for every batch. Correctness never depends on the cache:
 * - before each batch the writer reads the store's head position; if it is exactly where what the cache
 *   knows ends (`seen`), nobody else has appended since and cached states are current as they are;
 * - otherwise the events appended since `seen` (by another writer, e.g. the import CLI on the same file)
 *   are read once from the global feed and folded into the cached streams they belong to; when there are
 *   too many (more than `maxScan`), the cache starts again empty (an empty cache is current by definition);
 * - a concurrency conflict at append time still protects every stream the batch writes.
 * Least recently used streams are dropped beyond `maxStreams`.
 *
 * It also knows the name of every write-side stream in the store (`names`: read once when the writer
 * starts on a store holding at most `maxScan` write-side events, and kept current with every append of
 * its own and every event read from the feed), so a stream that does not exist yet is known to be new
 * without asking the store once per stream. Without that knowledge (a larger store, or after an error
 * whose effect is unknown) a stream not in the cache is read from the store, as always.
 */
export interface CachedStateLoader {
  /** Starts a batch: brings the cache up to date with the store's head, and loads through it. */
  begin(): Promise<BatchSession>;
  /** Stops trusting the cache as is (after an error whose effect on the store is unknown). */
  invalidate(): void;
}

/** The loader of one batch (concurrent batches each have their own). */
export interface BatchSession extends StateLoader {
  /** Records a successful append: the written streams' sealed events, new states and where each event landed. */
  committed(appended: { write: PlannedWrite; sealed: NewEvent[]; positions: Position[] }[]): void;
}

export function createCachedStoreLoader(
  store: EventStore,
  options: { maxStreams?: number; maxScan?: number; maxNames?: number } = {},
): CachedStateLoader {
  const maxStreams = options.maxStreams ?? 50_000;
  const maxScan = options.maxScan ?? 10_000;
  const maxNames = options.maxNames ?? 2_000_000;
  const cache = new Map<string, LoadedStream>();
  /**
   * The position up to which every write-side event of the store is reflected in the cached streams and in
   * `names` (undefined: the empty store); null when unknown.
   */
  let seen: Position | undefined | null = null;
  /** Every write-side stream of the store as of `seen`; undefined when not known. */
  let names: Set<string> | undefined;
  /** Whether the writer still has to try reading the stream names once (its first batch). */
  let scanPending = true;

  const remember = (loaded: LoadedStream) => {
    cache.delete(loaded.stream);
    cache.set(loaded.stream, loaded);
    if (cache.size > maxStreams) cache.delete(cache.keys().next().value!);
  };
  const addName = (stream: string) => {
    if (!names) return;
    names.add(stream);
    if (names.size > maxNames) names = undefined;
  };

  /** Reads the write-side events after `from` (exclusive), at most `limit`; undefined when there are more. */
  async function feedAfter(from: Position | undefined, limit: number) {
    const events = [];
    for await (const event of store.readAll({
      fromPosition: from ?? 'start',
      maxCount: limit + 2,
      filter: { streamPrefixes: WRITE_SIDE_PREFIXES },
    })) {
      if (from !== undefined && event.position <= from) continue;
      events.push(event);
      if (events.length > limit) return undefined;
    }
    return events;
  }

  /** Folds the feed's events into the cached streams (those not already folded) and the names. */
  function fold(events: Awaited<ReturnType<typeof feedAfter>> & object): void {
    for (const event of events) {
      addName(event.stream);
      const cached = cache.get(event.stream);
      if (!cached || event.revision <= cached.revision) continue; // absent, or already folded (our own)
      if (event.revision === cached.revision + 1) appendToLoaded(cached, event);
      else cache.delete(event.stream);
    }
  }

  return {
    async begin() {
      const headAtBegin = await store.headPosition();
      if (headAtBegin === undefined) {
        // An empty store: every stream is new.
        cache.clear();
        names = new Set();
        seen = undefined;
      } else if (scanPending && cache.size === 0) {
        // The first batch on a store with events. An empty cache is current whatever the head; the
        // write-side stream names are learnt here if there are few.
        const events = await feedAfter(undefined, maxScan);
        names = events ? new Set() : undefined;
        if (events) fold(events);
        const last = events?.at(-1)?.position;
        seen = last !== undefined && last > headAtBegin ? last : headAtBegin;
      } else if (seen !== null && seen !== undefined && headAtBegin === seen) {
        // Nobody else appended since: the cache is current as it is.
      } else if (seen !== null && (seen === undefined || headAtBegin > seen)) {
        // Someone else appended since: read what they wrote, once, from the feed.
        const events = await feedAfter(seen, maxScan);
        if (events) {
          fold(events);
          const last = events.at(-1)?.position;
          seen = last !== undefined && last > headAtBegin ? last : headAtBegin;
        } else {
          // Too much to fold: start again from an empty cache (current by definition), names unknown
          cache.clear();
          names = undefined;
          seen = headAtBegin;
        }
      } else {
        // Unknown (after an error, or the store's head went back): start again from an empty cache
        cache.clear();
        names = undefined;
        seen = headAtBegin;
      }
      scanPending = false;
      const namesAtBegin = names;
      const seenAtBegin = seen;
      return {
        // Cached and known-new streams are answered directly; only a read from the store is awaited.
        load(stream: string, kind: StreamKindOfEvent) {
          const cached = cache.get(stream);
          if (cached) {
            remember(cached);
            return cached;
          }
          if (namesAtBegin && !namesAtBegin.has(stream) && isWriteSide(stream)) {
            // Known not to exist (as of the head this batch started from): no read
            const fresh = foldStream(stream, kind, []);
            remember(fresh);
            return fresh;
          }
          return (async () => {
            const events = [];
            for await (const event of store.readStream(stream)) events.push(event);
            const loaded = foldStream(stream, kind, events);
            remember(loaded);
            return loaded;
          })();
        },

        committed(appended) {
          let count = 0;
          let first: Position | undefined;
          let last: Position | undefined;
          for (const { write, sealed, positions } of appended) {
            count += positions.length;
            for (const p of positions) {
              if (first === undefined || p < first) first = p;
              if (last === undefined || p > last) last = p;
            }
            addName(write.stream);
            const loaded = cache.get(write.stream);
            // The cached entry is the one the batch was decided against (same object) unless it was evicted.
            if (!loaded || loaded !== write.loaded || loaded.revision !== write.baseRevision) {
              cache.delete(write.stream);
              continue;
            }
            for (let j = 0; j < sealed.length; j++) {
              const event = sealed[j]!;
              loaded.revision += 1;
              if (write.idGiven[j]) {
                rememberId(loaded, event.id, {
                  type: event.type,
                  revision: loaded.revision,
                  position: positions[j]!,
                });
              }
              loaded.lastHash = event.metadata.hash as string;
            }
            loaded.state = write.finalState;
          }
          if (seen !== seenAtBegin) {
            // The cache's knowledge changed meanwhile: leave it to the next batch.
            return;
          }
          // Our events sit right after what the cache knew, with no gap: nobody else appended meanwhile.
          // Otherwise `seen` stays where it was and the next batch reads the feed from there (our own
          // events included, which folding skips).
          const contiguous =
            first !== undefined &&
            last !== undefined &&
            first === (seenAtBegin ?? 0n) + 1n &&
            last - first + 1n === BigInt(count);
          if (contiguous) seen = last!;
        },
      };
    },

    invalidate() {
      // Start over, as a writer that has just started: nothing cached is trusted any more
      cache.clear();
      seen = null;
      names = undefined;
      scanPending = true;
    },
  };
}

/** The streams the write side loads: the cities' own and the entities'. */
const WRITE_SIDE_PREFIXES = ['city-', ...ENTITY_KINDS.map((kind) => `${kind}-`)];
const isWriteSide = (stream: string) => WRITE_SIDE_PREFIXES.some((prefix) => stream.startsWith(prefix));
