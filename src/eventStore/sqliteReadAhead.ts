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
 * The subscriber waits on this thread, as its own reads would, without turning the event loop.
 */
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { PageReadAhead, ReadAheadBatch } from './catchUpSubscription.js';
import type { EventFilter } from './port.js';
import { feedParams, feedQuerySql, HEAD_SQL, STREAM_NAME_SQL } from './sqliteFeedQuery.js';
import { decodePage, type EncodedPage, learnTypes, NUMBERS_PER_ROW } from './sqlitePageWire.js';

/** What the worker (sqliteReadAheadWorker.mjs) is started with. */
interface ReadAheadSetup {
  /** The store's file. */
  path: string;
  /** The feed query (feedQuerySql) of the filter, and its filter parameters. */
  pageSql: string;
  params: string[];
  headSql: string;
  /** The name of a stream id. */
  streamSql: string;
  /** Whether the head is read before each page (filtered subscriptions need it). */
  filtered: boolean;
  /** Rows per page. */
  limit: number;
  /** Pages the worker reads ahead of the subscriber at most. */
  window: number;
  /** The metadata members the subscriber reads (SubscribeOptions.metadataKeys); null: all. */
  metadataKeys: string[] | null;
}

/** To the worker: read pages from the one after `start` on; or: the subscriber took (or dropped) pages. */
type ReadAheadCommand = { start: bigint } | { taken: number };

/** From the worker: it opened the file; a page; or it failed (and stopped). */
type ReadAheadReply = { ready: true } | { after: bigint; page: EncodedPage } | { failed: string };

/** Pages read ahead at most: enough to keep the worker busy, a few hundred kB each. */
const WINDOW = 4;
/** A worker that sends nothing for this long while a page is awaited is taken as failed. */
const MAX_WAIT_MS = 30_000;

/**
 * Starts a read-ahead worker on the store file at `path` for pages of `limit` events matching `filter`;
 * `streamName` resolves stream ids on this thread.
 */
export function openSqliteReadAhead(options: {
  path: string;
  filter: EventFilter | undefined;
  limit: number;
  streamName: (id: number) => string;
  /** Told the names of streams as the worker reads them, so `streamName` finds them without a query. */
  knowStream?: (id: number, name: string) => void;
  /** The metadata members the subscriber reads: the pages' metadata holds only these. Default: all. */
  metadataKeys?: readonly string[];
}): PageReadAhead & { readonly ready: boolean } {
  const { limit } = options;
  const setup: ReadAheadSetup = {
    path: options.path,
    pageSql: feedQuerySql(options.filter, true),
    params: feedParams(options.filter),
    headSql: HEAD_SQL,
    streamSql: STREAM_NAME_SQL,
    filtered: options.filter !== undefined,
    limit,
    window: WINDOW,
    metadataKeys: options.metadataKeys ? [...options.metadataKeys] : null,
  };
  // Pages come back on a channel of their own, received synchronously (receiveMessageOnPort), and the worker
  // bumps `signal` after each message: the subscriber can wait for a page without turning the event loop, so
  // a catch-up keeps the thread as it does without a worker (appends made in this process wait until it has
  // caught up, and it cannot be outrun by them).
  const channel = new MessageChannel();
  const signal = new Int32Array(new SharedArrayBuffer(4));
  // Plain JavaScript: no loader flags of this process (tsx's) are needed, and without them it starts at once.
  const worker = new Worker(new URL('./sqliteReadAheadWorker.mjs', import.meta.url), {
    workerData: { ...setup, port: channel.port2, signal },
    transferList: [channel.port2],
    execArgv: [],
  });
  // Nothing here waits on the event loop for the worker, so it never keeps a process alive.
  worker.unref();
  channel.port1.unref();
  let ready = false;
  let started = false;
  let broken = false;
  let closing: Promise<void> | undefined;
  /** Pages received and not yet taken, in order. */
  const received: Array<{ after: bigint; page: EncodedPage }> = [];
  /** The position the page the worker reads now starts after; undefined when it reads no more. */
  let reading: bigint | undefined;

  /** Names of the worker's type ids, in id order. */
  const typeNames: string[] = [];

  const command = (message: ReadAheadCommand) => channel.port1.postMessage(message);
  const toBatch = (page: EncodedPage): ReadAheadBatch => {
    if (page.streams && options.knowStream)
      for (const [id, name] of page.streams) options.knowStream(id, name);
    return { page: decodePage(page, options.streamName, typeNames), head: BigInt(page.head) };
  };
  const fail = () => {
    broken = true;
    reading = undefined;
    received.length = 0;
  };
  /** Takes in what the worker has sent; true when there was something. */
  const receive = (): boolean => {
    let any = false;
    for (let next = receiveMessageOnPort(channel.port1); next; next = receiveMessageOnPort(channel.port1)) {
      any = true;
      const message = next.message as ReadAheadReply;
      if ('ready' in message) ready = true;
      else if ('failed' in message) fail();
      else {
        const { page } = message;
        learnTypes(page, typeNames);
        reading =
          page.count === limit ? BigInt(page.numbers[(page.count - 1) * NUMBERS_PER_ROW]!) : undefined;
        received.push(message);
      }
    }
    return any;
  };
  /** Blocks until the worker sends something; false when it has sent nothing for too long (then it failed). */
  const awaitMessage = (): boolean => {
    const deadline = Date.now() + MAX_WAIT_MS;
    for (;;) {
      const seen = Atomics.load(signal, 0);
      if (receive()) return true;
      if (Date.now() > deadline) return false;
      Atomics.wait(signal, 0, seen, 100);
    }
  };
  worker.on('error', fail);
  worker.on('exit', fail);

  return {
    take(after) {
      if (broken || closing) return undefined;
      receive();
      if (!ready || broken) return undefined;
      if (!started) {
        // The subscriber reads this page itself; the worker goes on from it.
        started = true;
        reading = after;
        command({ start: after });
        return undefined;
      }
      for (;;) {
        let dropped = 0;
        // Pages the subscriber read itself while the worker started.
        while (received.length > 0 && received[0]!.after < after) {
          received.shift();
          dropped++;
        }
        const first = received[0];
        if (first?.after === after) {
          received.shift();
          command({ taken: dropped + 1 });
          try {
            return Promise.resolve(toBatch(first.page));
          } catch (error) {
            fail();
            return Promise.reject(error as Error);
          }
        }
        if (dropped > 0) command({ taken: dropped });
        if (first || broken || reading === undefined || reading > after) return undefined;
        // The worker is reading this page (or one before it): wait for it, without leaving this thread.
        if (!awaitMessage()) {
          fail();
          return Promise.reject(new Error('the read-ahead worker stopped answering'));
        }
      }
    },
    get active() {
      return !broken && !closing;
    },
    /** True once the worker has opened the file (and until it fails or is closed). */
    get ready() {
      if (!broken && !closing) receive();
      return ready && !broken && !closing;
    },
    close() {
      channel.port1.close();
      closing ??= worker.terminate().then(
        () => undefined,
        () => undefined,
      );
      return closing;
    },
  };
}
