import {
  BACKWARDS,
  END,
  type Position as EsdbPosition,
  EventStoreDBClient,
  eventTypeFilter,
  FORWARDS,
  type JSONType,
  jsonEvent,
  type ResolvedEvent,
  START,
  StreamNotFoundError,
  streamNameFilter,
  WrongExpectedVersionError,
} from '@eventstore/db-client';
import { ConcurrencyError, UnavailableError, ValidationError } from '../../core/errors.js';
import { matchesFilter, normaliseFilter } from '../filter.js';
import { idempotencyProbe, resolveAlreadyStored, type StoredLocation } from '../idempotency.js';
import type {
  AppendResult,
  EventFilter,
  EventStore,
  ExpectedRevision,
  NewEvent,
  Position,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StreamWrite,
  SubscribeOptions,
  Subscription,
  SubscriptionMessage,
} from '../port.js';
import {
  checkPosition,
  END_POSITION,
  END_REVISION,
  resolveReadAll,
  resolveReadStream,
} from '../readOptions.js';
import { toJsonText, validateWrites } from '../writeChecks.js';

/**
 * Checkpoints live in ordinary streams named `checkpoint-<name>` (a `$`-stream would need admin rights on a
 * secured cluster); reads of the feed leave them out, like EventStoreDB's own system events.
 */
export const CHECKPOINT_STREAM_PREFIX = 'checkpoint-';
const CHECKPOINT_EVENT_TYPE = 'CheckpointStored';
/** Older checkpoint events are scavenged by the server; only the latest is ever read. */
const CHECKPOINT_MAX_COUNT = 10;
/** Events per request when the adapter pages through $all itself. */
const DEFAULT_PAGE_SIZE = 512;
/** Page size of the backwards scan for the head position. */
const HEAD_PAGE_SIZE = 8;

export interface EsdbEventStoreOptions {
  /** Events per $all read request (default 512); small values let tests cross page boundaries cheaply. */
  pageSize?: number;
}
/** A subscription pauses the socket when this many messages wait for the consumer, resumes below the low mark. */
const QUEUE_HIGH = 2_048;
const QUEUE_LOW = 256;
const PING_TIMEOUT_MS = 5_000;
/** How far back a refused `any` append looks for its own ids. */
const REFUSAL_SCAN_LIMIT = 10_000;
/** Positions at or above this are EventStoreDB's "no position" (ulong max) or nonsense. */
const NO_POSITION = 1n << 63n;

type EsdbRecorded = NonNullable<ResolvedEvent['event']>;

/** System events (`$` types or `$` streams) and this adapter's checkpoints are not part of the app's feed. */
function isUserEvent(stream: string, type: string): boolean {
  return !stream.startsWith('$') && !type.startsWith('$') && !stream.startsWith(CHECKPOINT_STREAM_PREFIX);
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The server-side part of a filter. EventStoreDB filters on one thing (stream name or event type), by
 * prefixes or a regex, and only ever includes; exclusions of system and checkpoint streams are written as a
 * negative lookahead (the server's .NET regex and JavaScript agree on this subset). Whatever the server
 * cannot express is checked again client-side by `matchesFilter`.
 */
function serverFilter(filter: EventFilter | undefined) {
  if (filter?.eventTypes && !filter.streamPrefixes) {
    return eventTypeFilter({ regex: `^(?:${filter.eventTypes.map(escapeRegex).join('|')})$` });
  }
  const include = filter?.streamPrefixes ? `(?:${filter.streamPrefixes.map(escapeRegex).join('|')})` : '';
  return streamNameFilter({ regex: `^(?!\\$)(?!${escapeRegex(CHECKPOINT_STREAM_PREFIX)})${include}` });
}

function toEsdbExpected(expected: ExpectedRevision): 'any' | 'no_stream' | 'stream_exists' | bigint {
  return typeof expected === 'number' ? BigInt(expected) : expected;
}

function allPosition(position: bigint): EsdbPosition {
  // Events not written in an explicit transaction have equal commit and prepare positions; this adapter
  // never uses explicit transactions.
  return { commit: position, prepare: position };
}

function positionOf(event: EsdbRecorded): bigint | undefined {
  const commit = event.position?.commit;
  return commit === undefined || commit >= NO_POSITION ? undefined : commit;
}

function toRecorded(event: EsdbRecorded): RecordedEvent {
  const position = positionOf(event);
  if (position === undefined) {
    // Servers before 22.10 leave the $all position out of stream reads (EventStore PR #3459).
    throw new UnavailableError(
      `EventStoreDB did not report the position of event ${event.id} in ${event.streamId}; version 22.10 or newer is required`,
    );
  }
  const metadata = event.metadata;
  return {
    id: event.id,
    type: event.type,
    stream: event.streamId,
    revision: Number(event.revision),
    position,
    recordedAt: event.created.toISOString(),
    data: event.isJson ? event.data : Buffer.from(event.data as Uint8Array).toString('base64'),
    metadata:
      metadata && typeof metadata === 'object' && !(metadata instanceof Uint8Array)
        ? (metadata as Record<string, unknown>)
        : {},
  };
}

/** Turns the client's transport errors into the port's UnavailableError; everything else passes through. */
function mapError(error: unknown): unknown {
  const type = (error as { type?: unknown })?.type;
  if (
    type === 'unavailable' ||
    type === 'deadline-exceeded' ||
    type === 'cancelled' ||
    type === 'not-leader'
  ) {
    return new UnavailableError(`EventStoreDB is not reachable: ${(error as Error).message}`);
  }
  if (
    error instanceof Error &&
    /Failed to discover|ECONNREFUSED|No connection established/.test(error.message)
  ) {
    return new UnavailableError(`EventStoreDB is not reachable: ${error.message}`);
  }
  return error;
}

/**
 * The event store port on EventStoreDB (gRPC, `@eventstore/db-client` 6). Revisions are EventStoreDB's
 * 0-based event numbers, positions its $all commit positions. `appendMany` writes stream by stream (the
 * server has no multi-stream transaction); a retry with the same event ids completes a partial batch,
 * because the server answers a re-append of the same ids at the same expected revision without writing
 * (see the README, "EventStoreDB").
 * @example createEsdbEventStore('esdb://localhost:2113?tls=false')
 */
export function createEsdbEventStore(
  connectionString: string,
  options: EsdbEventStoreOptions = {},
): EventStore {
  const PAGE_SIZE = options.pageSize ?? DEFAULT_PAGE_SIZE;
  let client: EventStoreDBClient;
  try {
    client = EventStoreDBClient.connectionString(connectionString);
  } catch (error) {
    throw new ValidationError(`Invalid EventStoreDB connection string: ${(error as Error).message}`, [
      { field: 'EVENTSTORE_URL', value: connectionString, message: (error as Error).message },
    ]);
  }
  const subscriptions = new Set<Subscription>();
  let closed = false;

  const assertOpen = () => {
    if (closed) throw new UnavailableError('The EventStoreDB event store is closed');
  };

  /** One stream read; the gRPC call is cancelled when the consumer stops early. */
  async function* readStreamCall(
    stream: string,
    options: Parameters<EventStoreDBClient['readStream']>[1],
  ): AsyncGenerator<ResolvedEvent> {
    const reader = client.readStream(stream, options);
    try {
      for await (const resolved of reader) yield resolved as ResolvedEvent;
    } finally {
      await reader.cancel().catch(() => {});
    }
  }

  /** The $all position of one stream event, read back (for servers that answer an append without one). */
  async function positionAtRevision(stream: string, revision: bigint): Promise<bigint> {
    for await (const resolved of readStreamCall(stream, {
      fromRevision: revision,
      direction: FORWARDS,
      maxCount: 1,
    })) {
      if (resolved.event) return toRecorded(resolved.event).position;
    }
    throw new UnavailableError(`EventStoreDB did not return event ${revision} of ${stream}`);
  }

  async function lastEventPosition(stream: string): Promise<bigint> {
    try {
      for await (const resolved of readStreamCall(stream, {
        fromRevision: END,
        direction: BACKWARDS,
        maxCount: 1,
      }))
        if (resolved.event) return toRecorded(resolved.event).position;
    } catch (error) {
      if (!(error instanceof StreamNotFoundError)) throw error;
    }
    return 0n;
  }

  /**
   * After a refused append: where are the write's ids in the stream? Throws ConflictError for a partial or
   * misplaced retry, returns the original result when all ids are in place (the server's id cache for `any`
   * is bounded, so an old retry can be refused although it already landed), else undefined.
   */
  async function explainRefusal(
    write: Required<StreamWrite>,
    current: number | undefined,
  ): Promise<AppendResult | undefined> {
    const probe = idempotencyProbe(write.expectedRevision, current, write.events.length);
    if (probe.kind === 'none') return undefined;
    const ids = new Set(write.events.map((e) => e.id.toLowerCase()));
    const byId = new Map<string, StoredLocation>();
    const options: Parameters<EventStoreDBClient['readStream']>[1] =
      probe.kind === 'revisions'
        ? { fromRevision: BigInt(probe.from), direction: FORWARDS, maxCount: write.events.length }
        : { fromRevision: END, direction: BACKWARDS, maxCount: REFUSAL_SCAN_LIMIT };
    try {
      for await (const resolved of readStreamCall(write.stream, options)) {
        const event = resolved.event;
        if (event && ids.has(event.id.toLowerCase())) {
          byId.set(event.id.toLowerCase(), {
            id: event.id.toLowerCase(),
            revision: Number(event.revision),
            position: toRecorded(event).position,
          });
        }
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return undefined;
      throw mapError(error);
    }
    const found = write.events.map((e) => byId.get(e.id.toLowerCase()));
    return resolveAlreadyStored(write.stream, write.events, write.expectedRevision, found, current);
  }

  async function appendOne(write: Required<StreamWrite>, prefix: string): Promise<AppendResult> {
    const events = write.events.map((event: NewEvent, i) =>
      jsonEvent({
        id: event.id,
        type: event.type,
        // Checked here so a value that is not JSON fails before anything is sent.
        data: JSON.parse(toJsonText(event.data, `${prefix}events[${i}].data`)) as JSONType,
        metadata: JSON.parse(toJsonText(event.metadata ?? {}, `${prefix}events[${i}].metadata`)),
      }),
    );
    try {
      const result = await client.appendToStream(write.stream, events, {
        expectedRevision: toEsdbExpected(write.expectedRevision),
      });
      const next = result.nextExpectedRevision;
      let position = result.position?.commit;
      if (events.length === 0) position = await lastEventPosition(write.stream);
      else if (position === undefined || position >= NO_POSITION)
        position = await positionAtRevision(write.stream, next);
      return { stream: write.stream, nextExpectedRevision: Number(next), position };
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        const actual = error.actualVersion;
        const current = actual === 'no_stream' || actual === undefined ? undefined : Number(actual);
        // The server also answers a partial retry ("corrupted idempotency") as a wrong expected version;
        // looking at the stream tells the two apart, so the caller gets the same errors as on SQLite.
        const original = await explainRefusal(write, current);
        if (original) return original;
        throw new ConcurrencyError(
          write.stream,
          String(write.expectedRevision),
          current === undefined ? 'no_stream' : String(current),
        );
      }
      throw mapError(error);
    }
  }

  /** One $all read; the gRPC call is cancelled when the consumer stops early. */
  async function* readAllCall(
    options: Parameters<EventStoreDBClient['readAll']>[0],
  ): AsyncGenerator<ResolvedEvent> {
    const reader = client.readAll(options);
    try {
      for await (const resolved of reader) yield resolved as ResolvedEvent;
    } finally {
      await reader.cancel().catch(() => {});
    }
  }

  /** Reads $all forwards from `from` (inclusive), in pages, yielding events that pass `keep`. */
  async function* pageForwards(
    from: bigint,
    keep: (e: EsdbRecorded) => boolean,
    pageSize: number,
  ): AsyncGenerator<EsdbRecorded> {
    let cursor = from;
    let first = true;
    for (;;) {
      let received = 0;
      let last: bigint | undefined;
      for await (const resolved of readAllCall({
        fromPosition: first && from === 0n ? START : allPosition(cursor),
        direction: FORWARDS,
        maxCount: pageSize,
      })) {
        received++;
        const event = resolved.event;
        const position = event ? positionOf(event) : undefined;
        if (!event || position === undefined) continue;
        last = position;
        // A page starts AT the cursor, which the previous page already delivered.
        if (!first && position <= cursor) continue;
        if (first && position < from) continue;
        if (keep(event)) yield event;
      }
      if (received < pageSize || last === undefined) return;
      cursor = last;
      first = false;
    }
  }

  /**
   * Reads $all backwards, including the event AT `from`: EventStoreDB's backward read from a position
   * returns the events before it, so the event at the position itself is fetched with a forward read.
   */
  async function* pageBackwards(
    from: bigint,
    keep: (e: EsdbRecorded) => boolean,
    pageSize: number,
  ): AsyncGenerator<EsdbRecorded> {
    let cursor: bigint | undefined;
    if (from < END_POSITION) {
      for await (const resolved of readAllCall({
        fromPosition: allPosition(from),
        direction: FORWARDS,
        maxCount: 1,
      })) {
        const event = resolved.event;
        if (event && positionOf(event) === from && keep(event)) yield event;
      }
      cursor = from;
    }
    for (;;) {
      let received = 0;
      let last: bigint | undefined;
      for await (const resolved of readAllCall({
        fromPosition: cursor === undefined ? END : allPosition(cursor),
        direction: BACKWARDS,
        maxCount: pageSize,
      })) {
        received++;
        const event = resolved.event;
        const position = event ? positionOf(event) : undefined;
        if (!event || position === undefined) continue;
        last = position;
        if (cursor !== undefined && position >= cursor) continue;
        if (keep(event)) yield event;
      }
      if (received < pageSize || last === undefined) return;
      cursor = last;
    }
  }

  /**
   * Appends issued while a subscription from 'end' looks up where the end is wait for it, so "only what is
   * appended afterwards" holds for this process's own appends (the lookup and the append are separate calls
   * that could otherwise overtake each other).
   */
  const endLookups = new Set<Promise<unknown>>();
  async function appendGate(): Promise<void> {
    if (endLookups.size > 0) await Promise.allSettled([...endLookups]);
  }

  /** Position of the last record of $all (system events included), or undefined when the log is empty. */
  async function lastLogPosition(): Promise<bigint | undefined> {
    for await (const resolved of readAllCall({ fromPosition: END, direction: BACKWARDS, maxCount: 1 })) {
      const position = resolved.event ? positionOf(resolved.event) : undefined;
      if (position !== undefined) return position;
    }
    return undefined;
  }

  function subscribe(options: SubscribeOptions): Subscription {
    const filter = normaliseFilter(options.filter);
    const from = options.from ?? 'start';
    const start = from === 'start' || from === 'end' ? from : checkPosition(from, 'from');

    const queue: SubscriptionMessage[] = [];
    let failure: unknown;
    let finished = false;
    let ended = false;
    let wake: (() => void) | undefined;
    let lastSeen: bigint | undefined = typeof start === 'bigint' && start > 0n ? start : undefined;
    // The client signals caught-up with an event beside its stream of events, so the marker is placed by
    // counting: it belongs after every event already pushed through the client's stream at that moment.
    let taken = 0;
    let caughtUpAfter: number | undefined;
    let caughtUpSent = false;
    let sub: ReturnType<EventStoreDBClient['subscribeToAll']> | undefined;

    const notify = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const placeCaughtUp = () => {
      if (!caughtUpSent && caughtUpAfter !== undefined && taken >= caughtUpAfter) {
        caughtUpSent = true;
        queue.push({ type: 'caughtUp', position: lastSeen });
      }
    };

    const open = (fromPosition: EsdbPosition | typeof START | typeof END) => {
      if (ended) return;
      const s = client.subscribeToAll({ fromPosition, filter: serverFilter(filter) });
      sub = s;
      s.on('data', (resolved: ResolvedEvent) => {
        taken++;
        if (ended) return;
        const event = resolved.event;
        const position = event ? positionOf(event) : undefined;
        if (event && position !== undefined) {
          lastSeen = position;
          if (isUserEvent(event.streamId, event.type) && matchesFilter(filter, event.streamId, event.type)) {
            queue.push({ type: 'event', event: toRecorded(event) });
          }
        } else if (event && failure === undefined) {
          // Without its position an event cannot be checkpointed; the consumer gets the reason.
          failure = new UnavailableError(
            `EventStoreDB sent event ${event.id} of ${event.streamId} without its $all position`,
          );
        }
        placeCaughtUp();
        if (queue.length >= QUEUE_HIGH) s.pause();
        notify();
      });
      s.on('caughtUp', () => {
        caughtUpAfter ??= taken + s.readableLength;
        placeCaughtUp();
        notify();
      });
      s.on('error', (error: unknown) => {
        if (!ended) failure = mapError(error);
        notify();
      });
      s.on('close', () => {
        finished = true;
        notify();
      });
    };

    if (start === 'end') {
      // Resolve 'end' to a position now, rather than letting the server take its end when the call arrives.
      const lookup = lastLogPosition().then(
        (position) => {
          lastSeen = position;
          open(position === undefined ? START : allPosition(position));
        },
        (error: unknown) => {
          failure = mapError(error);
          notify();
        },
      );
      endLookups.add(lookup);
      void lookup.finally(() => endLookups.delete(lookup));
    } else {
      open(start === 'start' ? START : allPosition(start));
    }

    const subscription: Subscription = {
      [Symbol.asyncIterator]() {
        return {
          next: async (): Promise<IteratorResult<SubscriptionMessage>> => {
            for (;;) {
              const message = queue.shift();
              if (message) {
                if (queue.length <= QUEUE_LOW && sub?.isPaused()) sub.resume();
                return { value: message, done: false };
              }
              if (failure !== undefined && !ended) {
                const error = failure;
                await subscription.close();
                throw error;
              }
              if (ended || finished) return { value: undefined, done: true };
              await new Promise<void>((resolve) => {
                wake = resolve;
              });
            }
          },
          return: async (): Promise<IteratorResult<SubscriptionMessage>> => {
            await subscription.close();
            return { value: undefined, done: true };
          },
        };
      },
      async close() {
        if (ended) return;
        ended = true;
        subscriptions.delete(subscription);
        queue.length = 0;
        notify();
        await sub?.unsubscribe().catch(() => {});
      },
    };
    subscriptions.add(subscription);
    return subscription;
  }

  return {
    name: 'esdb',
    capabilities: { atomicMultiStreamAppend: false },

    async append(stream, events, options) {
      assertOpen();
      const [write] = validateWrites([
        { stream, events, expectedRevision: options?.expectedRevision ?? 'any' },
      ]);
      await appendGate();
      return appendOne(write!, '');
    },

    async appendMany(writes) {
      assertOpen();
      // Everything is validated before the first write, so a malformed batch writes nothing.
      const checked = validateWrites(writes);
      checked.forEach((write, w) => {
        const prefix = checked.length === 1 ? '' : `writes[${w}].`;
        write.events.forEach((event, i) => {
          toJsonText(event.data, `${prefix}events[${i}].data`);
          toJsonText(event.metadata ?? {}, `${prefix}events[${i}].metadata`);
        });
      });
      await appendGate();
      const results: AppendResult[] = [];
      for (const [w, write] of checked.entries()) {
        results.push(await appendOne(write, checked.length === 1 ? '' : `writes[${w}].`));
      }
      return results;
    },

    async *readStream(stream: string, options: ReadStreamOptions = {}) {
      assertOpen();
      const { from, forwards, maxCount } = resolveReadStream(options);
      if (maxCount === 0 || (forwards && from === END_REVISION)) return;
      const reader = client.readStream(stream, {
        fromRevision: from === END_REVISION ? END : BigInt(from),
        direction: forwards ? FORWARDS : BACKWARDS,
        ...(Number.isFinite(maxCount) ? { maxCount } : {}),
      });
      try {
        for await (const resolved of reader) {
          if (resolved.event) yield toRecorded(resolved.event);
        }
      } catch (error) {
        if (error instanceof StreamNotFoundError) return;
        throw mapError(error);
      } finally {
        await reader.cancel().catch(() => {});
      }
    },

    async *readAll(options: ReadAllOptions = {}) {
      assertOpen();
      const filter = normaliseFilter(options.filter);
      const { from, forwards, maxCount } = resolveReadAll(options);
      // Forwards from the end is empty by definition; a server may refuse a position past its log.
      if (maxCount === 0 || (forwards && from === END_POSITION)) return;
      const keep = (e: EsdbRecorded) =>
        isUserEvent(e.streamId, e.type) && matchesFilter(filter, e.streamId, e.type);
      let count = 0;
      try {
        // Without a filter nearly every event counts, so a small maxCount needs no bigger page.
        const pageSize = filter ? PAGE_SIZE : Math.max(1, Math.min(PAGE_SIZE, maxCount + 1));
        const pages = forwards ? pageForwards(from, keep, pageSize) : pageBackwards(from, keep, pageSize);
        for await (const event of pages) {
          yield toRecorded(event);
          if (++count >= maxCount) return;
        }
      } catch (error) {
        throw mapError(error);
      }
    },

    subscribeToAll(options: SubscribeOptions = {}) {
      assertOpen();
      return subscribe(options);
    },

    async headPosition() {
      assertOpen();
      try {
        // The newest event is almost always the app's own: a small page, enlarged only by system events.
        const pages = pageBackwards(END_POSITION, (e) => isUserEvent(e.streamId, e.type), HEAD_PAGE_SIZE);
        for await (const event of pages) {
          return positionOf(event);
        }
      } catch (error) {
        throw mapError(error);
      }
      return undefined;
    },

    async getCheckpoint(name) {
      assertOpen();
      try {
        for await (const resolved of readStreamCall(`${CHECKPOINT_STREAM_PREFIX}${name}`, {
          fromRevision: END,
          direction: BACKWARDS,
          maxCount: 1,
        })) {
          const data = resolved.event?.data as { position?: unknown } | undefined;
          if (typeof data?.position === 'string') return BigInt(data.position);
        }
      } catch (error) {
        if (error instanceof StreamNotFoundError) return undefined;
        throw mapError(error);
      }
      return undefined;
    },

    async setCheckpoint(name, position: Position) {
      assertOpen();
      const checked = checkPosition(position, 'position');
      const stream = `${CHECKPOINT_STREAM_PREFIX}${name}`;
      try {
        const result = await client.appendToStream(
          stream,
          jsonEvent({ type: CHECKPOINT_EVENT_TYPE, data: { position: checked.toString() } }),
        );
        // First checkpoint of this name: cap the stream so the server scavenges the old ones.
        if (result.nextExpectedRevision === 0n) {
          await client.setStreamMetadata(stream, { maxCount: CHECKPOINT_MAX_COUNT });
        }
      } catch (error) {
        throw mapError(error);
      }
    },

    async ping() {
      assertOpen();
      const reader = client.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 1 });
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          (async () => {
            for await (const _ of reader) {
              // draining one event is enough
            }
          })(),
          new Promise((_, reject) => {
            timer = setTimeout(
              () => reject(new UnavailableError(`EventStoreDB did not answer within ${PING_TIMEOUT_MS} ms`)),
              PING_TIMEOUT_MS,
            );
          }),
        ]);
      } catch (error) {
        const mapped = mapError(error);
        throw mapped instanceof UnavailableError
          ? mapped
          : new UnavailableError(`EventStoreDB ping failed: ${(error as Error).message}`);
      } finally {
        clearTimeout(timer);
        await reader.cancel().catch(() => {});
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...subscriptions].map((s) => s.close()));
      await client.dispose();
    },
  };
}
