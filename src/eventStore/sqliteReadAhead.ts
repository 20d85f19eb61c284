/**
 * Read-ahead of a long catch-up on the SQLite store: a worker thread with its own read-only connection reads
 * the following pages while the subscriber applies the current one, so stepping SQLite and building rows
 * leave the subscriber's thread (a twin rebuild's), which only unpacks each page (sqlitePageWire.ts).
 *
 * Pages are defined by the position they start after and the page size, over a feed whose visible events
 * are a prefix in position order, so the worker's full pages are exactly those the subscriber would read
 * itself. Until the worker has opened the file, the subscriber reads its pages itself; then the worker
 * starts from the page the subscriber is reading and the subscriber takes every following page from it,
 * waiting when it is ahead of the worker (stepping SQLite twice would only take CPU from the worker).
 */
import { Worker } from 'node:worker_threads';
import type { PageReadAhead, ReadAheadBatch } from './catchUpSubscription.js';
import type { EventFilter } from './port.js';
import { feedParams, feedQuerySql, HEAD_SQL } from './sqliteFeedQuery.js';
import { decodePage, type EncodedPage } from './sqlitePageWire.js';

/** What the worker (sqliteReadAheadWorker.mjs) is started with. */
interface ReadAheadSetup {
  /** The store's file. */
  path: string;
  /** The feed query (feedQuerySql) of the filter, and its filter parameters. */
  pageSql: string;
  params: string[];
  headSql: string;
  /** Whether the head is read before each page (filtered subscriptions need it). */
  filtered: boolean;
  /** Rows per page. */
  limit: number;
  /** Pages the worker reads ahead of the subscriber at most. */
  window: number;
}

/** To the worker: read pages from the one after `start` on; or: the subscriber took (or dropped) pages. */
type ReadAheadCommand = { start: bigint } | { taken: number };

/** From the worker: it opened the file; a page; or it failed (and stopped). */
type ReadAheadReply = { ready: true } | { after: bigint; page: EncodedPage } | { failed: string };

/** Pages read ahead at most: enough to keep the worker busy, a few hundred kB each. */
const WINDOW = 4;

/**
 * Starts a read-ahead worker on the store file at `path` for pages of `limit` events matching `filter`;
 * `streamName` resolves stream ids on this thread.
 */
export function openSqliteReadAhead(options: {
  path: string;
  filter: EventFilter | undefined;
  limit: number;
  streamName: (id: number) => string;
}): PageReadAhead & { readonly ready: boolean } {
  const { limit } = options;
  const setup: ReadAheadSetup = {
    path: options.path,
    pageSql: feedQuerySql(options.filter, true),
    params: feedParams(options.filter),
    headSql: HEAD_SQL,
    filtered: options.filter !== undefined,
    limit,
    window: WINDOW,
  };
  // Plain JavaScript: no loader flags of this process (tsx's) are needed, and without them it starts at once.
  const worker = new Worker(new URL('./sqliteReadAheadWorker.mjs', import.meta.url), {
    workerData: setup,
    execArgv: [],
  });
  // A read-ahead must not keep a process alive; it is referenced while the subscriber waits for a page.
  worker.unref();
  let ready = false;
  let started = false;
  let broken = false;
  let closing: Promise<void> | undefined;
  /** Pages received and not yet taken, in order. */
  const received: Array<{ after: bigint; page: EncodedPage }> = [];
  /** The position the page the worker reads now starts after; undefined when it reads no more. */
  let reading: bigint | undefined;
  let waiting:
    | { after: bigint; resolve: (batch: ReadAheadBatch) => void; reject: (error: Error) => void }
    | undefined;

  const command = (message: ReadAheadCommand) => worker.postMessage(message);
  const toBatch = (page: EncodedPage): ReadAheadBatch => ({
    page: decodePage(page, options.streamName),
    head: BigInt(page.head),
  });
  const fail = (error: Error) => {
    broken = true;
    reading = undefined;
    received.length = 0;
    const waiter = waiting;
    waiting = undefined;
    worker.unref();
    waiter?.reject(error);
  };

  worker.on('message', (message: ReadAheadReply) => {
    if ('ready' in message) {
      ready = true;
      return;
    }
    if ('failed' in message) {
      fail(new Error(`the read-ahead worker failed: ${message.failed}`));
      return;
    }
    const { after, page } = message;
    reading = page.count === limit ? BigInt(page.numbers[(page.count - 1) * 3]!) : undefined;
    const waiter = waiting;
    if (!waiter) {
      received.push(message);
      return;
    }
    if (after < waiter.after && reading !== undefined) {
      // A page the subscriber read itself while the worker started.
      command({ taken: 1 });
      return;
    }
    waiting = undefined;
    worker.unref();
    command({ taken: 1 });
    if (after !== waiter.after) {
      waiter.reject(new Error(`the read-ahead read the page after ${after}, not after ${waiter.after}`));
      return;
    }
    try {
      waiter.resolve(toBatch(page));
    } catch (error) {
      waiter.reject(error as Error);
    }
  });
  worker.on('error', (error) => fail(error));
  worker.on('exit', (code) => fail(new Error(`the read-ahead worker exited with code ${code}`)));

  return {
    take(after) {
      if (broken || closing || !ready) return undefined;
      if (!started) {
        // The subscriber reads this page itself; the worker goes on from it.
        started = true;
        reading = after;
        command({ start: after });
        return undefined;
      }
      let dropped = 0;
      while (received.length > 0 && received[0]!.after < after) {
        received.shift();
        dropped++;
      }
      const first = received[0];
      if (first && first.after === after) {
        received.shift();
        command({ taken: dropped + 1 });
        try {
          return Promise.resolve(toBatch(first.page));
        } catch (error) {
          return Promise.reject(error as Error);
        }
      }
      if (dropped > 0) command({ taken: dropped });
      if (first || reading === undefined || reading > after) return undefined;
      return new Promise<ReadAheadBatch>((resolve, reject) => {
        waiting = { after, resolve, reject };
        worker.ref();
      });
    },
    get active() {
      return !broken && !closing;
    },
    /** True once the worker has opened the file (and until it fails or is closed). */
    get ready() {
      return ready && !broken && !closing;
    },
    close() {
      closing ??= worker.terminate().then(
        () => undefined,
        () => undefined,
      );
      return closing;
    },
  };
}
