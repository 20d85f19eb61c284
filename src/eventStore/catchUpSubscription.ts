import type { EventFilter, RecordedEvent, Subscription, SubscriptionMessage } from './port.js';

/** What the catch-up pump needs from an adapter that keeps its feed itself (memory, SQLite). */
export interface FeedSource {
  /** Up to `limit` events matching `filter` with a position strictly after `after`, in order. */
  readAfter(
    after: bigint,
    limit: number,
    filter: EventFilter | undefined,
  ): RecordedEvent[] | Promise<RecordedEvent[]>;
  /** Position of the last event in the store (0n when empty). */
  head(): bigint | Promise<bigint>;
  /** Calls `listener` after every append made in this process; returns the function that stops it. */
  onAppend(listener: () => void): () => void;
  /** Poll this often for appends made by other processes (SQLite file shared with the import CLI). */
  pollIntervalMs?: number;
  /**
   * Optionally reads a long catch-up's pages ahead of the subscriber (see PageReadAhead), from the page after
   * `after` on; undefined when not worth it (a short history) or not possible.
   */
  readAhead?(
    after: bigint,
    limit: number,
    filter: EventFilter | undefined,
    metadataKeys: readonly string[] | undefined,
  ): PageReadAhead | undefined;
}

/** A page read ahead, with the head position observed before it was read (0n when empty). */
export interface ReadAheadBatch {
  page: RecordedEvent[];
  head: bigint;
}

/**
 * Reads catch-up pages ahead, elsewhere (a worker thread), while the subscriber handles the current one.
 */
export interface PageReadAhead {
  /**
   * The page `readAfter(after, limit, filter)` would give (and the head read before it, as the
   * subscription's own reads do) when it has been read ahead or is being read; otherwise undefined, and the
   * subscription reads that page itself.
   */
  take(after: bigint): Promise<ReadAheadBatch> | undefined;
  /** False once closed or failed. */
  readonly active: boolean;
  /** Stops it; pages read ahead are dropped. */
  close(): Promise<void>;
}

export interface CatchUpOptions {
  /** Exclusive start. */
  startAfter: bigint;
  filter: EventFilter | undefined;
  /** Events read per query; bounds memory during catch-up. */
  pageSize?: number;
  /** Called once when the subscription ends (closed, broken off or failed). */
  onEnd?: () => void;
  /** The metadata members the subscriber reads (SubscribeOptions.metadataKeys), for the read-ahead. */
  metadataKeys?: readonly string[];
}

/**
 * A catch-up subscription over a feed whose visible events are always a prefix in position order (one writer
 * at a time, positions assigned in commit order). History and live events come from the same "read after
 * the last position seen" query, so the catch-up -> live handover can have no gap and no duplicate.
 * Appends in this process wake it at once; appends by other processes are polled.
 */
export function createCatchUpSubscription(source: FeedSource, options: CatchUpOptions): Subscription {
  const pageSize = options.pageSize ?? 1_000;
  const filter = options.filter;
  let closed = false;
  let version = 0;
  let wake: (() => void) | undefined;
  const stopListening = source.onAppend(() => {
    version++;
    wake?.();
  });
  // A catch-up that reads full pages asks the source, once, for a read-ahead of the pages that follow.
  let readAhead: PageReadAhead | undefined;
  let readAheadAsked = false;
  let readAheadClosed: Promise<void> = Promise.resolve();
  const stopReadAhead = (): Promise<void> => {
    if (readAhead) readAheadClosed = readAhead.close();
    readAhead = undefined;
    return readAheadClosed;
  };

  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    stopListening();
    void stopReadAhead();
    options.onEnd?.();
  };

  // With a filter, the last matching event can be far behind the feed; advancing to the head observed
  // before a short read is safe (that read saw everything up to it) and lets checkpoints move on.
  const toBatch = (page: RecordedEvent[], head: bigint, last: bigint) => {
    const lastInPage = page.length > 0 ? page[page.length - 1]!.position : last;
    const seenUpTo = page.length < pageSize && head > lastInPage ? head : lastInPage;
    return { page, seenUpTo };
  };
  const readBatch = async (last: bigint): Promise<{ page: RecordedEvent[]; seenUpTo: bigint }> => {
    if (readAhead) {
      const ahead = readAhead.take(last);
      if (ahead) {
        try {
          const batch = await ahead;
          return toBatch(batch.page, batch.head, last);
        } catch {
          // The read-ahead failed (its worker could not read, or stopped): this thread reads the page, and
          // the following ones, itself; unless the subscription was closed meanwhile (which stops it).
          void stopReadAhead();
          if (closed) return { page: [], seenUpTo: last };
        }
      }
    }
    const head = filter ? await source.head() : 0n;
    const page = await source.readAfter(last, pageSize, filter);
    return toBatch(page, head, last);
  };

  const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
  let last = options.startAfter;
  // The page being handed out; events are served from it with one resolved promise each, so a rebuild's
  // catch-up over a million events does not pay for an async generator's resumption per event.
  let page: RecordedEvent[] = [];
  let index = 0;
  let pageSeenUpTo = last;
  let live = false;
  let historyComplete = false;
  let filling: Promise<IteratorResult<SubscriptionMessage>> | undefined;

  const waitForAppend = () =>
    new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      wake = () => {
        if (timer) clearTimeout(timer);
        wake = undefined;
        resolve();
      };
      if (source.pollIntervalMs !== undefined) {
        timer = setTimeout(wake, source.pollIntervalMs);
        timer.unref();
      }
    });

  /** Reads the next page (or announces caughtUp, or waits for appends); called when the page is used up. */
  const fill = async (): Promise<IteratorResult<SubscriptionMessage>> => {
    for (;;) {
      if (closed) return done;
      // Every event of the page was handed out, so the position read up to is now seen.
      if (pageSeenUpTo > last) last = pageSeenUpTo;
      if (!live && historyComplete) {
        live = true;
        return { done: false, value: { type: 'caughtUp', position: last > 0n ? last : undefined } };
      }
      const seen = version;
      const batch = await readBatch(last);
      if (closed) return done;
      page = batch.page;
      index = 0;
      pageSeenUpTo = batch.seenUpTo;
      const full = page.length === pageSize;
      if (!live && !full) {
        historyComplete = true;
        void stopReadAhead();
      }
      if (!live && full && !readAheadAsked) {
        readAheadAsked = true;
        readAhead = source.readAhead?.(pageSeenUpTo, pageSize, filter, options.metadataKeys);
      }
      if (page.length > 0) {
        const event = page[index++]!;
        last = event.position;
        return { done: false, value: { type: 'event', event } };
      }
      if (live && version === seen) await waitForAppend();
    }
  };

  const iterator: AsyncIterator<SubscriptionMessage> = {
    next() {
      if (closed) {
        end();
        return Promise.resolve(done);
      }
      if (filling) return filling.then(() => iterator.next());
      if (index < page.length) {
        const event = page[index++]!;
        last = event.position;
        return Promise.resolve({ done: false, value: { type: 'event', event } });
      }
      filling = fill().then(
        (result) => {
          filling = undefined;
          if (result.done) end();
          return result;
        },
        (error: unknown) => {
          filling = undefined;
          closed = true;
          end();
          throw error;
        },
      );
      return filling;
    },
    async return() {
      closed = true;
      wake?.();
      end();
      await stopReadAhead();
      return done;
    },
  };

  return {
    [Symbol.asyncIterator]() {
      return iterator;
    },
    async close() {
      if (closed) return;
      closed = true;
      wake?.();
      end();
      await stopReadAhead();
    },
  };
}
