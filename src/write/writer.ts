import { sealEvents } from '../audit/hashChain.js';
import type { Clock } from '../core/clock.js';
import { ConcurrencyError } from '../core/errors.js';
import { assertCityId } from '../domain/streams.js';
import type { AppendResult, EventStore, NewEvent, Position, StreamWrite } from '../eventStore/port.js';
import { type ParsedBody, parseBatchBody } from './batchBody.js';
import { type ItemParser, type ParsedItem, parseItems } from './parseItems.js';
import { type BatchPlan, type PlannedWrite, planBatch, planParsed } from './plan.js';
import type { StateLoader } from './stateLoader.js';
import { createCachedStoreLoader } from './streamCache.js';
import type { BatchResult, ItemResult, WriteContext } from './types.js';

/** THE way events enter the system: HTTP ingest, the import CLI, seeds and scenarios all go through it. */
export interface Writer {
  /**
   * Validates and decides a batch for a city, then appends it all or nothing (per stream with the exact
   * revision it was decided against, sealed into each stream's hash chain). Items whose id is already
   * stored are answered with the original result and never written again.
   * @example await writer.appendBatch('cluj-napoca', [{ type: 'BuildingDemolished', entityId: 'b-1', data: {} }], ctx)
   */
  appendBatch(city: string, items: readonly unknown[], ctx: WriteContext): Promise<BatchResult>;
  /**
   * Parses an ingest body from its JSON text (off the event loop when the writer has parse workers):
   * malformed JSON, an oversize batch, bad fields or a bad item throw, naming index, field and value.
   * `now` judges occurredAt and must be the `now` of the context the items are then appended with.
   */
  parseBody(city: string, text: string, now: Date, maxBatch: number): Promise<ParsedBody>;
  /** appendBatch for items parseBody parsed (with `ctx.now` the `now` they were parsed with). */
  appendParsed(
    city: string,
    items: readonly ParsedItem[],
    ctx: WriteContext & { now: Date },
  ): Promise<BatchResult>;
  /**
   * Validates and decides a batch without appending: what would be written. With a custom loader (e.g. a
   * scenario's states: the real streams at the fork plus its overlay) it decides against those states.
   */
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
  /**
   * Where stream states come from. Default: the store, through a cache of recently written streams that
   * is checked against the store's head before every batch (see streamCache.ts).
   */
  loader?: StateLoader;
  /** How often a batch is decided again after a concurrency conflict before the conflict is returned (default 3). */
  maxAttempts?: number;
  /** Parses batches off the event loop (parseWorkers.ts). Default: in process. */
  parser?: ItemParser;
}

/** Creates the write pipeline over an event store. */
export function createWriter(options: WriterOptions): Writer {
  const { store, clock } = options;
  const cache = options.loader ? undefined : createCachedStoreLoader(store);
  const maxAttempts = options.maxAttempts ?? 3;

  const withNow = (ctx: WriteContext) => ({ ...ctx, now: ctx.now ?? clock.now() });

  async function appendOnce(
    city: string,
    parsed: readonly ParsedItem[],
    ctx: WriteContext & { now: Date },
  ): Promise<BatchResult> {
    const session = cache ? await cache.begin() : undefined;
    const plan = await planParsed(city, parsed, ctx, session ?? options.loader!);
    const results: ItemResult[] = [...plan.duplicates];
    if (plan.writes.length > 0) {
      const sealed = plan.writes.map((w) =>
        sealEvents(w.stream, w.baseRevision + 1, w.prevHash, w.events as NewEvent[]),
      );
      const writes: StreamWrite[] = plan.writes.map((w, i) => ({
        stream: w.stream,
        expectedRevision: w.baseRevision < 0 ? 'no_stream' : w.baseRevision,
        events: sealed[i]!,
      }));
      let appended: AppendResult[];
      try {
        appended = await store.appendMany(writes);
      } catch (err) {
        // On a non-atomic store part of the batch may have landed: re-check against the store next time.
        cache?.invalidate();
        throw err;
      }
      const positions = await positionsOf(store, plan.writes, appended);
      session?.committed(
        plan.writes.map((write, i) => ({ write, sealed: sealed[i]!, positions: positions[i]! })),
      );
      for (let i = 0; i < plan.writes.length; i++) {
        const write = plan.writes[i]!;
        for (let j = 0; j < write.events.length; j++) {
          const event = write.events[j]!;
          results.push({
            index: write.indexes[j]!,
            id: event.id,
            type: event.type,
            stream: write.stream,
            revision: write.baseRevision + 1 + j,
            position: positions[i]![j]!.toString(),
            duplicate: false,
          });
        }
      }
    }
    results.sort((a, b) => a.index - b.index);
    return { results, appended: results.filter((r) => !r.duplicate).length };
  }

  /**
   * One batch at a time from deciding to appending: batches parsed side by side (in the parse workers)
   * would otherwise interleave at every await, decide against states another batch is about to change
   * (a concurrency conflict and a retry) and leave the stream cache unsure of the store's head (re-reads).
   * The store appends one transaction at a time anyway; parsing, the costly part, stays parallel.
   */
  let turn: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(work: () => Promise<T>): Promise<T> => {
    const run = turn.then(work, work);
    turn = run.catch(() => undefined);
    return run;
  };

  async function appendParsed(
    city: string,
    parsed: readonly ParsedItem[],
    ctx: WriteContext & { now: Date },
  ): Promise<BatchResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await inTurn(() => appendOnce(city, parsed, ctx));
      } catch (err) {
        // Someone appended to one of our streams between read and write: decide again on the new state.
        if (err instanceof ConcurrencyError && attempt < maxAttempts) continue;
        throw err;
      }
    }
  }

  return {
    async appendBatch(cityInput, items, ctx) {
      const city = assertCityId(cityInput);
      const timed = withNow(ctx);
      // Parsing needs no state: done once, whatever the retries of appendParsed
      const parsed = options.parser
        ? await options.parser.parse(city, items, timed.now)
        : parseItems(city, items, timed.now);
      return appendParsed(city, parsed, timed);
    },
    async parseBody(cityInput, text, now, maxBatch) {
      const city = assertCityId(cityInput);
      return options.parser
        ? options.parser.parseBody(city, text, now, maxBatch)
        : parseBatchBody(city, text, now, maxBatch);
    },
    appendParsed(cityInput, items, ctx) {
      return appendParsed(assertCityId(cityInput), items, ctx);
    },
    async planBatch(city, items, ctx, customLoader) {
      const loader = customLoader ?? options.loader ?? (await cache!.begin());
      return planBatch(city, items, withNow(ctx), loader);
    },
  };
}

/**
 * The global position of every appended event. The port reports each write's last position; a write of n
 * events whose last position is exactly n after the previous write's last one holds n consecutive
 * positions (positions strictly increase), so they are known without reading. Anything else (the first
 * write of a batch with several events, or a store whose positions have gaps, like EventStoreDB) is read back.
 */
async function positionsOf(
  store: EventStore,
  writes: PlannedWrite[],
  appended: AppendResult[],
): Promise<Position[][]> {
  const out: Position[][] = [];
  for (let i = 0; i < writes.length; i++) {
    const write = writes[i]!;
    const n = write.events.length;
    const last = appended[i]!.position;
    const previous = i > 0 ? appended[i - 1]!.position : undefined;
    if (n === 1 || (previous !== undefined && last - previous === BigInt(n))) {
      out.push(Array.from({ length: n }, (_, j) => last - BigInt(n - 1 - j)));
      continue;
    }
    const positions: Position[] = [];
    for await (const event of store.readStream(write.stream, {
      fromRevision: write.baseRevision + 1,
      maxCount: n,
    })) {
      positions.push(event.position);
    }
    out.push(positions);
  }
  return out;
}
