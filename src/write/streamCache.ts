import type { StreamKindOfEvent } from '../domain/events.js';
import type { EventStore, NewEvent, Position } from '../eventStore/port.js';
import type { PlannedWrite } from './plan.js';
import { appendToLoaded, foldStream, type LoadedStream, type StateLoader } from './stateLoader.js';

/**
 * A store-backed StateLoader that keeps recently written streams' states in memory, so a busy writer does
 * not re-read and re-fold an entity's whole stream for every batch. Correctness never depends on the cache:
 * - before each batch the writer reads the store's head position; if it is exactly where this writer's
 *   last append left it, nobody else has appended since and cached states are current as they are;
 * - otherwise each cached stream is brought up to date by reading only its tail (events after the cached
 *   revision), and streams not in the cache are read in full;
 * - a concurrency conflict at append time still protects every stream the batch writes.
 * Least recently used streams are dropped beyond `maxStreams`.
 */
export interface CachedStateLoader {
  /** Starts a batch: checks whether the cache can be trusted as is, and loads through it. */
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
  options: { maxStreams?: number } = {},
): CachedStateLoader {
  const maxStreams = options.maxStreams ?? 50_000;
  const cache = new Map<string, LoadedStream>();
  /** The head position right after this writer's last append, when it knows nobody else wrote meanwhile. */
  let knownHead: Position | undefined | null = null;
  /** The cache holds every stream of the store (it started on an empty store and saw every append since). */
  let complete = false;

  const remember = (loaded: LoadedStream) => {
    cache.delete(loaded.stream);
    cache.set(loaded.stream, loaded);
    if (cache.size > maxStreams) {
      cache.delete(cache.keys().next().value!);
      complete = false;
    }
  };

  return {
    async begin() {
      const headAtBegin = await store.headPosition();
      let trusted: boolean;
      if (headAtBegin === undefined) {
        // An empty store: every stream is new.
        cache.clear();
        complete = true;
        trusted = true;
      } else {
        trusted = knownHead !== null && headAtBegin === knownHead;
        if (!trusted) complete = false;
      }
      return {
        async load(stream: string, kind: StreamKindOfEvent) {
          const cached = cache.get(stream);
          if (cached) {
            if (!trusted) {
              for await (const event of store.readStream(stream, { fromRevision: cached.revision + 1 })) {
                appendToLoaded(cached, event);
              }
            }
            remember(cached);
            return cached;
          }
          if (trusted && complete) {
            const fresh = foldStream(stream, kind, []);
            remember(fresh);
            return fresh;
          }
          const events = [];
          for await (const event of store.readStream(stream)) events.push(event);
          const loaded = foldStream(stream, kind, events);
          remember(loaded);
          return loaded;
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
            const loaded = cache.get(write.stream);
            // The cached entry is the one the batch was decided against (same object) unless it was evicted.
            if (!loaded || loaded !== write.loaded || loaded.revision !== write.baseRevision) {
              cache.delete(write.stream);
              complete = false;
              continue;
            }
            for (let j = 0; j < sealed.length; j++) {
              const event = sealed[j]!;
              loaded.revision += 1;
              loaded.ids.set(event.id, {
                type: event.type,
                revision: loaded.revision,
                position: positions[j]!,
              });
              loaded.lastHash = event.metadata.hash as string;
            }
            loaded.state = write.finalState;
          }
          // Our events sit right after the head we started from, with no gap: nobody else appended meanwhile.
          const contiguous =
            first !== undefined &&
            last !== undefined &&
            first === (headAtBegin ?? 0n) + 1n &&
            last - first + 1n === BigInt(count);
          knownHead = contiguous ? last! : null;
          if (!contiguous) complete = false;
        },
      };
    },

    invalidate() {
      knownHead = null;
      complete = false;
    },
  };
}
