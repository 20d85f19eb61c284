import { sealEvents } from '../audit/hashChain.js';
import type { Clock } from '../core/clock.js';
import { ConcurrencyError } from '../core/errors.js';
import type { EventStore, NewEvent, Position, StreamWrite } from '../eventStore/port.js';
import { type BatchPlan, planBatch } from './plan.js';
import { createStoreStateLoader, type StateLoader } from './stateLoader.js';
import type { BatchResult, ItemResult, WriteContext } from './types.js';

/** THE way events enter the system: HTTP ingest, the import CLI, seeds and scenarios all go through it. */
export interface Writer {
  /**
   * Validates and decides a batch for a city, then appends it all or nothing (per stream with the exact
   * revision it was decided against, sealed into each stream's hash chain). Items whose id is already
   * stored are answered with the original result and written again never.
   * @example await writer.appendBatch('cluj-napoca', [{ type: 'BuildingDemolished', entityId: 'b-1', data: {} }], ctx)
   */
  appendBatch(city: string, items: readonly unknown[], ctx: WriteContext): Promise<BatchResult>;
  /** Validates and decides a batch without appending (what would be written), e.g. for a scenario overlay. */
  planBatch(
    city: string,
    items: readonly unknown[],
    ctx: WriteContext,
    loader?: StateLoader,
  ): Promise<BatchPlan>;
}

export interface WriterOptions {
  store: EventStore;
  clock: Clock;
  /** Where stream states come from; the store itself by default. */
  loader?: StateLoader;
  /** How often a batch is re-decided after a concurrency conflict before the conflict is returned (default 3). */
  maxAttempts?: number;
}

/** Creates the write pipeline over an event store. */
export function createWriter(options: WriterOptions): Writer {
  const { store, clock } = options;
  const loader = options.loader ?? createStoreStateLoader(store);
  const maxAttempts = options.maxAttempts ?? 3;

  const withNow = (ctx: WriteContext) => ({ ...ctx, now: ctx.now ?? clock.now() });

  async function appendOnce(
    city: string,
    items: readonly unknown[],
    ctx: WriteContext,
  ): Promise<BatchResult> {
    const plan = await planBatch(city, items, withNow(ctx), loader);
    const results: ItemResult[] = [...plan.duplicates];
    if (plan.writes.length > 0) {
      const sealed: StreamWrite[] = plan.writes.map((w) => ({
        stream: w.stream,
        expectedRevision: w.loaded.revision < 0 ? 'no_stream' : w.loaded.revision,
        events: sealEvents(w.stream, w.loaded.revision + 1, w.loaded.lastHash, w.events as NewEvent[]),
      }));
      const appended = await store.appendMany(sealed);
      for (let i = 0; i < plan.writes.length; i++) {
        const write = plan.writes[i]!;
        const positions = await positionsOf(
          store,
          write.stream,
          write.loaded.revision + 1,
          write.events.length,
          appended[i]!.position,
        );
        write.events.forEach((event, j) => {
          results.push({
            index: write.indexes[j]!,
            id: event.id,
            type: event.type,
            stream: write.stream,
            revision: write.loaded.revision + 1 + j,
            position: positions[j]!.toString(),
            duplicate: false,
          });
        });
      }
    }
    results.sort((a, b) => a.index - b.index);
    const appendedCount = results.filter((r) => !r.duplicate).length;
    return { results, appended: appendedCount };
  }

  return {
    async appendBatch(city, items, ctx) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await appendOnce(city, items, ctx);
        } catch (err) {
          // Someone appended to one of our streams between read and write: decide again on the new state.
          if (err instanceof ConcurrencyError && attempt < maxAttempts) continue;
          throw err;
        }
      }
    },
    planBatch(city, items, ctx, customLoader) {
      return planBatch(city, items, withNow(ctx), customLoader ?? loader);
    },
  };
}

/**
 * Global positions of `count` events appended at `firstRevision`: the append result gives the last one;
 * earlier ones (several events for one stream in one batch) are read back.
 */
async function positionsOf(
  store: EventStore,
  stream: string,
  firstRevision: number,
  count: number,
  last: Position,
): Promise<Position[]> {
  if (count === 1) return [last];
  const positions: Position[] = [];
  for await (const event of store.readStream(stream, { fromRevision: firstRevision, maxCount: count })) {
    positions.push(event.position);
  }
  return positions;
}
