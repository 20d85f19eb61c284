import { UnavailableError } from '../core/errors.js';
import { createCatchUpSubscription, type FeedSource } from './catchUpSubscription.js';
import { matchesFilter, normaliseFilter } from './filter.js';
import { checkBeforeWrite, type IdempotencyProbe, type StoredLocation } from './idempotency.js';
import type {
  AppendResult,
  EventStore,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StreamWrite,
  SubscribeOptions,
  Subscription,
} from './port.js';
import { checkPosition, resolveReadAll, resolveReadStream, resolveSubscribeFrom } from './readOptions.js';
import { toJsonText, validateWrites } from './writeChecks.js';

/** What the memory store keeps per event: JSON text, so reads hand out fresh copies like the SQLite store. */
interface StoredEvent {
  id: string;
  type: string;
  stream: string;
  revision: number;
  position: bigint;
  recordedAt: string;
  data: string;
  metadata: string;
}

function toRecorded(e: StoredEvent): RecordedEvent {
  return {
    id: e.id,
    type: e.type,
    stream: e.stream,
    revision: e.revision,
    position: e.position,
    recordedAt: e.recordedAt,
    data: JSON.parse(e.data),
    metadata: JSON.parse(e.metadata),
  };
}

/**
 * An in-process event store with the same semantics as the SQLite one (atomic multi-stream appends,
 * idempotency by event id, catch-up subscriptions); for unit tests and throwaway runs. Positions are 1, 2, 3...
 */
export function createMemoryEventStore(options: { now?: () => Date } = {}): EventStore {
  const now = options.now ?? (() => new Date());
  const all: StoredEvent[] = [];
  const streams = new Map<string, StoredEvent[]>();
  // Ids per stream, as on SQLite and EventStoreDB: idempotency is a property of the stream.
  const idsByStream = new Map<string, Map<string, StoredEvent>>();
  const checkpoints = new Map<string, bigint>();
  const listeners = new Set<() => void>();
  const subscriptions = new Set<Subscription>();
  let closed = false;

  const assertOpen = () => {
    if (closed) throw new UnavailableError('The memory event store is closed');
  };
  const head = () => (all.length > 0 ? all[all.length - 1]!.position : 0n);
  const lastRevision = (stream: string) => {
    const events = streams.get(stream);
    return events && events.length > 0 ? events.length - 1 : undefined;
  };

  function lookUpStored(
    stream: string,
    events: NewEvent[],
    probe: IdempotencyProbe,
  ): Array<StoredLocation | undefined> {
    if (probe.kind === 'none') return [];
    if (probe.kind === 'ids') {
      const ids = idsByStream.get(stream);
      return events.map((e) => ids?.get(e.id.toLowerCase()));
    }
    const stored = streams.get(stream) ?? [];
    return events.map((e, i) => {
      const at = stored[probe.from + i];
      return at && at.id === e.id.toLowerCase() ? at : undefined;
    });
  }

  /** Checks and applies a whole call's writes; nothing is stored unless every write passes. */
  function appendWrites(writes: StreamWrite[]): AppendResult[] {
    assertOpen();
    const checked = validateWrites(writes);
    const recordedAt = now().toISOString();
    // Plan first (revisions as if earlier writes of the same call had landed), then commit.
    const planned: StoredEvent[] = [];
    const plannedRevision = new Map<string, number | undefined>();
    const results: AppendResult[] = [];
    let position = head();
    for (const [w, write] of checked.entries()) {
      const current = plannedRevision.has(write.stream)
        ? plannedRevision.get(write.stream)
        : lastRevision(write.stream);
      const original = checkBeforeWrite(
        write.stream,
        write.events,
        write.expectedRevision,
        current,
        (probe) => lookUpStored(write.stream, write.events, probe),
      );
      if (original) {
        results.push(original);
        continue;
      }
      let revision = current ?? -1;
      const prefix = checked.length === 1 ? '' : `writes[${w}].`;
      write.events.forEach((event: NewEvent, i) => {
        revision++;
        position++;
        planned.push({
          id: event.id.toLowerCase(),
          type: event.type,
          stream: write.stream,
          revision,
          position,
          recordedAt,
          data: toJsonText(event.data, `${prefix}events[${i}].data`),
          metadata: toJsonText(event.metadata ?? {}, `${prefix}events[${i}].metadata`),
        });
      });
      plannedRevision.set(write.stream, revision < 0 ? undefined : revision);
      const lastPosition =
        write.events.length > 0 ? position : (streams.get(write.stream)?.at(-1)?.position ?? 0n);
      results.push({ stream: write.stream, nextExpectedRevision: revision, position: lastPosition });
    }
    for (const event of planned) {
      all.push(event);
      let stream = streams.get(event.stream);
      let ids = idsByStream.get(event.stream);
      if (!stream || !ids) {
        stream = [];
        ids = new Map();
        streams.set(event.stream, stream);
        idsByStream.set(event.stream, ids);
      }
      stream.push(event);
      ids.set(event.id, event);
    }
    if (planned.length > 0) for (const listener of listeners) listener();
    return results;
  }

  const source: FeedSource = {
    readAfter(after, limit, filter) {
      const out: RecordedEvent[] = [];
      // Positions are 1-based and dense: the event at position p sits at index p - 1.
      for (let i = Number(after); i < all.length && out.length < limit; i++) {
        const e = all[i]!;
        if (matchesFilter(filter, e.stream, e.type)) out.push(toRecorded(e));
      }
      return out;
    },
    head,
    onAppend(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };

  return {
    name: 'memory',
    capabilities: { atomicMultiStreamAppend: true },

    async append(stream, events, options) {
      return appendWrites([{ stream, events, expectedRevision: options?.expectedRevision ?? 'any' }])[0]!;
    },

    async appendMany(writes) {
      return appendWrites(writes);
    },

    async *readStream(stream: string, options: ReadStreamOptions = {}) {
      assertOpen();
      const events = streams.get(stream) ?? [];
      const { from, forwards, maxCount } = resolveReadStream(options);
      let count = 0;
      if (forwards) {
        for (let r = from; r < events.length && count < maxCount; r++, count++) yield toRecorded(events[r]!);
      } else {
        for (let r = Math.min(from, events.length - 1); r >= 0 && count < maxCount; r--, count++)
          yield toRecorded(events[r]!);
      }
    },

    async *readAll(options: ReadAllOptions = {}) {
      assertOpen();
      const filter = normaliseFilter(options.filter);
      const { from, forwards, maxCount } = resolveReadAll(options);
      let count = 0;
      if (forwards) {
        for (let i = Math.max(0, Number(from) - 1); i < all.length && count < maxCount; i++) {
          const e = all[i]!;
          if (matchesFilter(filter, e.stream, e.type)) {
            count++;
            yield toRecorded(e);
          }
        }
      } else {
        for (let i = Math.min(all.length, Number(from)) - 1; i >= 0 && count < maxCount; i--) {
          const e = all[i]!;
          if (matchesFilter(filter, e.stream, e.type)) {
            count++;
            yield toRecorded(e);
          }
        }
      }
    },

    subscribeToAll(options: SubscribeOptions = {}) {
      assertOpen();
      const filter = normaliseFilter(options.filter);
      const startAfter = resolveSubscribeFrom(options, head());
      const subscription = createCatchUpSubscription(source, {
        startAfter,
        filter,
        onEnd: () => subscriptions.delete(subscription),
      });
      subscriptions.add(subscription);
      return subscription;
    },

    async headPosition() {
      assertOpen();
      return all.length > 0 ? head() : undefined;
    },

    async getCheckpoint(name) {
      assertOpen();
      return checkpoints.get(name);
    },

    async setCheckpoint(name, position) {
      assertOpen();
      checkpoints.set(name, checkPosition(position, 'position'));
    },

    async ping() {
      assertOpen();
    },

    async close() {
      if (closed) return;
      await Promise.all([...subscriptions].map((s) => s.close()));
      closed = true;
    },
  };
}
