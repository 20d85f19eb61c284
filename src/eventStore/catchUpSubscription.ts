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
}

export interface CatchUpOptions {
  /** Exclusive start. */
  startAfter: bigint;
  filter: EventFilter | undefined;
  /** Events read per query; bounds memory during catch-up. */
  pageSize?: number;
  /** Called once when the subscription ends (closed, broken off or failed). */
  onEnd?: () => void;
}

/**
 * A catch-up subscription over a feed whose visible events are always a prefix in position order (one writer
 * at a time, positions assigned in commit order). It never hands events over from a buffer: historical and
 * live events come from the same "read after the last position seen" query, so the catch-up -> live
 * handover can have no gap and no duplicate. Appends in this process wake it at once; others are polled.
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
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    stopListening();
    options.onEnd?.();
  };

  // With a filter, the last matching event can be far behind the feed; advancing to the head observed
  // before a short read is safe (that read saw everything up to it) and lets checkpoints move on.
  const readBatch = async (last: bigint): Promise<{ page: RecordedEvent[]; seenUpTo: bigint }> => {
    const head = filter ? await source.head() : 0n;
    const page = await source.readAfter(last, pageSize, filter);
    const lastInPage = page.length > 0 ? page[page.length - 1]!.position : last;
    const seenUpTo = page.length < pageSize && head > lastInPage ? head : lastInPage;
    return { page, seenUpTo };
  };

  async function* pump(): AsyncGenerator<SubscriptionMessage> {
    let last = options.startAfter;
    try {
      for (;;) {
        if (closed) return;
        const { page, seenUpTo } = await readBatch(last);
        for (const event of page) {
          if (closed) return;
          last = event.position;
          yield { type: 'event', event };
        }
        last = seenUpTo;
        if (page.length < pageSize) break;
      }
      if (closed) return;
      yield { type: 'caughtUp', position: last > 0n ? last : undefined };
      while (!closed) {
        const seen = version;
        const { page, seenUpTo } = await readBatch(last);
        for (const event of page) {
          if (closed) return;
          last = event.position;
          yield { type: 'event', event };
        }
        last = seenUpTo;
        if (page.length === pageSize || version !== seen || closed) continue;
        await new Promise<void>((resolve) => {
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
      }
    } finally {
      end();
    }
  }

  let iterator: AsyncGenerator<SubscriptionMessage> | undefined;
  return {
    [Symbol.asyncIterator]() {
      iterator ??= pump();
      return iterator;
    },
    async close() {
      if (closed) return;
      closed = true;
      wake?.();
      // A generator never iterated, or paused at a yield, would not reach its finally on its own.
      end();
    },
  };
}
