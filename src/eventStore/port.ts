/**
 * The event store port. Semantics follow EventStoreDB so that switching adapters changes nothing above it:
 * - stream revisions are 0-based; positions are global, strictly increasing, and > 0;
 * - reads start AT the given revision/position (inclusive);
 * - subscriptions start AFTER the given position (exclusive), catch up, then go live without gap or duplicate;
 * - appending events whose ids are already stored in that stream at the expected place is a no-op that
 *   returns the original result (idempotency by event id).
 */

/** Global position in the store's ordered feed ($all). Serialised as a decimal string in JSON. */
export type Position = bigint;

/** `n` means: the stream's last event has revision n. */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | number;

export type Direction = 'forwards' | 'backwards';

/** An event to append. `id` is a UUID and the idempotency key. */
export interface NewEvent<Data = unknown, Meta = Record<string, unknown>> {
  id: string;
  type: string;
  data: Data;
  metadata: Meta;
  /**
   * The RFC 8785 canonical JSON of `data` (audit/canonicalJson.ts), when the caller already wrote it (the
   * write path does, once per event while parsing): the hash chain hashes it and an adapter that stores JSON
   * text stores it, instead of serialising `data` again. It must be exactly `canonicalJson(data)`.
   */
  dataText?: string;
}

/** An event as stored. */
export interface RecordedEvent<Data = unknown, Meta = Record<string, unknown>> {
  id: string;
  type: string;
  stream: string;
  /** 0-based, per stream. */
  revision: number;
  /** Global, strictly increasing. */
  position: Position;
  /** ISO 8601, when the store accepted it. */
  recordedAt: string;
  data: Data;
  metadata: Meta;
  /**
   * A number the store gave the stream, the same for every event of the stream read from this store (the
   * SQLite store's stream id; other adapters leave it out). A consumer keeping state per stream can find it by
   * this number in an array instead of hashing the name per event; numbers of different stores can coincide,
   * so such a consumer checks the name it finds there.
   */
  streamNumber?: number;
}

export interface StreamWrite {
  stream: string;
  events: NewEvent[];
  /** Defaults to 'any'. */
  expectedRevision?: ExpectedRevision;
}

export interface AppendResult {
  stream: string;
  /** Revision of the stream's last event after the append (what to pass as expected revision next time). */
  nextExpectedRevision: number;
  /** Position of the last event of this write. */
  position: Position;
}

export interface ReadStreamOptions {
  /** Inclusive; 'start' by default for forwards, 'end' for backwards. */
  fromRevision?: number | 'start' | 'end';
  direction?: Direction;
  maxCount?: number;
}

/** Server-side filter: an event passes if it matches every given criterion. */
export interface EventFilter {
  /** Stream name prefixes, e.g. `building-bucharest.` or `mobility-`. */
  streamPrefixes?: string[];
  /** Exact event types. */
  eventTypes?: string[];
}

export interface ReadAllOptions {
  /** Inclusive; 'start' by default for forwards, 'end' for backwards. */
  fromPosition?: Position | 'start' | 'end';
  direction?: Direction;
  maxCount?: number;
  filter?: EventFilter;
}

export interface SubscribeOptions {
  /** Exclusive: the first event delivered is the first one AFTER this position. Default 'start' (everything). */
  from?: Position | 'start' | 'end';
  filter?: EventFilter;
  /**
   * The metadata members the subscriber reads. An adapter may then hand out events whose metadata holds
   * only these (the SQLite store does for the pages of a long catch-up it reads ahead on a worker thread,
   * so the subscriber's thread does not parse what it never reads); other events keep all of it. Default:
   * all members, always.
   */
  metadataKeys?: readonly string[];
}

/**
 * What a subscription yields, in order: events, and once, a `caughtUp` marker when the historical part has
 * been delivered and what follows is live. `position` is the last position the subscription has seen
 * (also when it was filtered out), so a checkpoint can advance past filtered events.
 */
export type SubscriptionMessage =
  | { type: 'event'; event: RecordedEvent }
  | { type: 'caughtUp'; position: Position | undefined };

export interface Subscription extends AsyncIterable<SubscriptionMessage> {
  /** Stops delivery; the iterator ends. Idempotent. */
  close(): Promise<void>;
}

export interface EventStoreCapabilities {
  /** `appendMany` is all-or-nothing across streams (true on SQLite and memory, false on EventStoreDB). */
  atomicMultiStreamAppend: boolean;
}

export interface EventStore {
  readonly name: 'memory' | 'sqlite' | 'esdb';
  readonly capabilities: EventStoreCapabilities;

  /** Appends events to one stream atomically; throws ConcurrencyError on a wrong expected revision. */
  append(
    stream: string,
    events: NewEvent[],
    options?: { expectedRevision?: ExpectedRevision },
  ): Promise<AppendResult>;

  /**
   * Appends to several streams. On adapters with `atomicMultiStreamAppend` all writes land or none does;
   * elsewhere they land in order and a retry with the same event ids completes a partial batch without
   * duplicating what already landed.
   */
  appendMany(writes: StreamWrite[]): Promise<AppendResult[]>;

  /** Reads one stream. A stream that does not exist yields nothing. */
  readStream(stream: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent>;

  /** Reads the global feed. */
  readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent>;

  /** Catch-up subscription to the global feed (see SubscriptionMessage). */
  subscribeToAll(options?: SubscribeOptions): Subscription;

  /** Position of the last event in the store, or undefined when it is empty. */
  headPosition(): Promise<Position | undefined>;

  /** Named, durable checkpoints so a restarted subscriber resumes where it stopped. */
  getCheckpoint(name: string): Promise<Position | undefined>;
  setCheckpoint(name: string, position: Position): Promise<void>;

  /** Resolves when the store answers; throws UnavailableError otherwise. */
  ping(): Promise<void>;

  close(): Promise<void>;
}
