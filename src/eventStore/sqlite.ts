import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { UnavailableError } from '../core/errors.js';
import { createCatchUpSubscription, type FeedSource } from './catchUpSubscription.js';
import { normaliseFilter } from './filter.js';
import {
  type IdempotencyProbe,
  idempotencyProbe,
  resolveAlreadyStored,
  type StoredLocation,
} from './idempotency.js';
import { pagedIterable } from './pagedIterable.js';
import type {
  AppendResult,
  EventFilter,
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
import { EVENT_COLUMNS, type EventRow, feedQueryKey, feedQuerySql } from './sqliteFeedQuery.js';
import { openSqliteReadAhead } from './sqliteReadAhead.js';
import { startWalCheckpointer, type WalCheckpointer } from './walCheckpointer.js';
import { assertExpectedRevision, toJsonText, validateWrites } from './writeChecks.js';

export interface SqliteEventStoreOptions {
  /**
   * `normal` (default): in WAL mode a commit is in the operating system's hands before the append is
   * acknowledged, so it survives the process being killed; a power loss can roll back the last few commits.
   * `full`: also fsyncs the WAL on every commit, so it survives a power loss too, at a cost per append.
   */
  synchronous?: 'normal' | 'full';
  /** How often live subscriptions look for events appended by other processes. Default 50 ms. */
  pollIntervalMs?: number;
  /** Rows per read query (reads and subscriptions page through the feed). Default 1,000. */
  pageSize?: number;
  /**
   * A subscription at least this many events behind the head when its catch-up starts reads the following
   * pages ahead on a worker thread (its own read-only connection) while it delivers the current one.
   * Default 50,000; `Infinity` never does. Not for `:memory:` stores (a worker cannot open them).
   */
  readAheadMinEvents?: number;
  /**
   * Checkpoints of the WAL on a thread of their own once the store first appends (walCheckpointer.ts), with
   * SQLite's automatic checkpoint kept as a backstop at 4,000 pages. Default true; not for `:memory:` stores.
   */
  backgroundCheckpoints?: boolean;
  /** Clock for recordedAt. */
  now?: () => Date;
}

/** WAL pages at which the appending connection checkpoints by itself: SQLite's default, and the backstop. */
const INLINE_CHECKPOINT_PAGES = 1_000;
const BACKSTOP_CHECKPOINT_PAGES = 4_000;
const BACKGROUND_CHECKPOINT_MS = 100;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS streams (
  stream_id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS events (
  position INTEGER PRIMARY KEY,
  stream_id INTEGER NOT NULL,
  revision INTEGER NOT NULL,
  id TEXT NOT NULL,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  metadata TEXT NOT NULL,
  recorded_at TEXT NOT NULL,
  UNIQUE (stream_id, revision)
);
CREATE TABLE IF NOT EXISTS checkpoints (
  name TEXT PRIMARY KEY,
  position INTEGER NOT NULL,
  updated_at TEXT NOT NULL
);
`;

type Row = EventRow;

/** Decodes a row; sqlitePageWire.ts's decodePage builds the same object. */
function rowToEvent(row: Row, stream: string): RecordedEvent {
  return {
    position: BigInt(row[0]),
    stream,
    revision: row[2],
    id: row[3],
    type: row[4],
    data: JSON.parse(row[5]),
    metadata: JSON.parse(row[6]),
    recordedAt: row[7],
  };
}

/** A prepared, serialised event: JSON text is produced before the write lock is taken. */
interface PreparedEvent {
  id: string;
  type: string;
  data: string;
  metadata: string;
}

/**
 * The embedded event store on one SQLite file (WAL). Every append call is one IMMEDIATE transaction, so
 * appendMany is atomic across streams and positions are assigned in commit order, also across processes
 * sharing the file. Streams get an integer id (table `streams`) so the per-stream index stays compact.
 * @example const store = createSqliteEventStore('data/events.sqlite');
 */
export function createSqliteEventStore(path: string, options: SqliteEventStoreOptions = {}): EventStore {
  const now = options.now ?? (() => new Date());
  const pageSize = options.pageSize ?? 1_000;
  const readAheadMinEvents = options.readAheadMinEvents ?? 50_000;
  const backgroundCheckpoints = path !== ':memory:' && (options.backgroundCheckpoints ?? true);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  let db: Database.Database;
  try {
    // Another process (the import CLI) may hold the write lock for one transaction; wait for it, also
    // while switching to WAL and creating the schema below.
    db = new Database(path, { timeout: 10_000 });
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('cache_size = -65536');
    db.exec(SCHEMA);
  } catch (error) {
    throw new UnavailableError(`Cannot open the SQLite event store at ${path}: ${(error as Error).message}`);
  }

  const stmt = {
    streamId: db.prepare('SELECT stream_id FROM streams WHERE name = ?').pluck(),
    insertStream: db.prepare('INSERT INTO streams (name) VALUES (?)'),
    lastRevision: db.prepare('SELECT max(revision) FROM events WHERE stream_id = ?').pluck(),
    atRevisions: db
      .prepare(
        'SELECT revision, position, id FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision LIMIT ?',
      )
      .raw(),
    // Only for `any` / `stream_exists` appends: scans the stream's index range, compares ids in SQLite.
    byIds: db
      .prepare(
        'SELECT revision, position, id FROM events WHERE stream_id = ? AND id IN (SELECT value FROM json_each(?))',
      )
      .raw(),
    lastPositionOfStream: db
      .prepare('SELECT position FROM events WHERE stream_id = ? ORDER BY revision DESC LIMIT 1')
      .pluck(),
    insertEvent: db.prepare(
      'INSERT INTO events (stream_id, revision, id, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    head: db.prepare('SELECT max(position) FROM events').pluck(),
    streamName: db.prepare('SELECT name FROM streams WHERE stream_id = ?').pluck(),
    streamForwards: db
      .prepare(
        `SELECT ${EVENT_COLUMNS} FROM events e WHERE e.stream_id = ? AND e.revision >= ? ORDER BY e.revision LIMIT ?`,
      )
      .raw(),
    streamBackwards: db
      .prepare(
        `SELECT ${EVENT_COLUMNS} FROM events e WHERE e.stream_id = ? AND e.revision <= ? ORDER BY e.revision DESC LIMIT ?`,
      )
      .raw(),
    getCheckpoint: db.prepare('SELECT position FROM checkpoints WHERE name = ?').pluck(),
    setCheckpoint: db.prepare(
      'INSERT INTO checkpoints (name, position, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at',
    ),
    ping: db.prepare('SELECT 1').pluck(),
  };

  // Stream ids never change once committed, so they are cached; new ones only after their commit.
  const streamIds = new Map<string, number>();
  const streamNames = new Map<number, string>();
  const lookUpStreamId = (name: string): number | undefined => {
    const cached = streamIds.get(name);
    if (cached !== undefined) return cached;
    const id = stmt.streamId.get(name) as number | undefined;
    if (id !== undefined) {
      streamIds.set(name, id);
      streamNames.set(id, name);
    }
    return id;
  };
  // Reads resolve names here instead of joining `streams` on every row; a miss is a stream created since
  // (possibly by another process).
  const streamNameOf = (streamId: number): string => {
    let name = streamNames.get(streamId);
    if (name === undefined) {
      name = stmt.streamName.get(streamId) as string;
      streamNames.set(streamId, name);
      streamIds.set(name, streamId);
    }
    return name;
  };
  const toEvents = (rows: Row[]): RecordedEvent[] => {
    const events = new Array<RecordedEvent>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      events[i] = rowToEvent(row, streamNameOf(row[1]));
    }
    return events;
  };

  // Reads of the global feed, one prepared statement per filter shape and direction.
  const feedStatements = new Map<string, Database.Statement>();
  const feedQuery = (filter: EventFilter | undefined, forwards: boolean) => {
    const prefixes = filter?.streamPrefixes ?? [];
    const types = filter?.eventTypes ?? [];
    const key = feedQueryKey(filter, forwards);
    let statement = feedStatements.get(key);
    if (!statement) {
      statement = db.prepare(feedQuerySql(filter, forwards)).raw();
      feedStatements.set(key, statement);
    }
    return (from: bigint, limit: number) =>
      toEvents(statement.all(from, ...prefixes, ...types, limit) as Row[]);
  };

  const listeners = new Set<() => void>();
  const subscriptions = new Set<Subscription>();
  let closed = false;
  const assertOpen = () => {
    if (closed) throw new UnavailableError('The SQLite event store is closed');
  };

  function lookUpStored(
    streamId: number,
    events: PreparedEvent[],
    probe: IdempotencyProbe,
  ): Array<StoredLocation | undefined> {
    if (probe.kind === 'none') return [];
    if (probe.kind === 'ids') {
      const rows = stmt.byIds.all(streamId, JSON.stringify(events.map((e) => e.id))) as Array<
        [number, number, string]
      >;
      const byId = new Map(
        rows.map(([revision, position, id]) => [id, { id, revision, position: BigInt(position) }]),
      );
      return events.map((e) => byId.get(e.id));
    }
    const rows = stmt.atRevisions.all(streamId, probe.from, events.length) as Array<[number, number, string]>;
    return events.map((e, i) => {
      const row = rows[i];
      return row && row[0] === probe.from + i && row[2] === e.id
        ? { id: row[2], revision: row[0], position: BigInt(row[1]) }
        : undefined;
    });
  }

  const appendTransaction = db.transaction(
    (writes: Array<Required<StreamWrite> & { prepared: PreparedEvent[] }>, recordedAt: string) => {
      const results: AppendResult[] = [];
      const newStreams = new Map<string, number>();
      const planned = new Map<number, number>();
      for (const write of writes) {
        let streamId = newStreams.get(write.stream) ?? lookUpStreamId(write.stream);
        let current: number | undefined;
        if (streamId !== undefined) {
          current = planned.get(streamId) ?? (stmt.lastRevision.get(streamId) as number | null) ?? undefined;
        }
        if (streamId !== undefined) {
          const probe = idempotencyProbe(write.expectedRevision, current, write.prepared.length);
          const found = lookUpStored(streamId, write.prepared, probe);
          const original = resolveAlreadyStored(
            write.stream,
            write.events,
            write.expectedRevision,
            found,
            current,
          );
          if (original) {
            results.push(original);
            continue;
          }
        }
        assertExpectedRevision(write.stream, write.expectedRevision, current);
        if (write.prepared.length === 0) {
          const last =
            streamId === undefined ? undefined : (stmt.lastPositionOfStream.get(streamId) as number);
          results.push({
            stream: write.stream,
            nextExpectedRevision: current ?? -1,
            position: last === undefined ? 0n : BigInt(last),
          });
          continue;
        }
        if (streamId === undefined) {
          streamId = Number(stmt.insertStream.run(write.stream).lastInsertRowid);
          newStreams.set(write.stream, streamId);
        }
        let revision = current ?? -1;
        let position: number | bigint = 0;
        for (const e of write.prepared) {
          revision++;
          position = stmt.insertEvent.run(
            streamId,
            revision,
            e.id,
            e.type,
            e.data,
            e.metadata,
            recordedAt,
          ).lastInsertRowid;
        }
        planned.set(streamId, revision);
        results.push({ stream: write.stream, nextExpectedRevision: revision, position: BigInt(position) });
      }
      return { results, newStreams };
    },
  );

  let checkpointer: Promise<WalCheckpointer | undefined> | undefined;
  /** Hands checkpoints to their thread on the first append (a store that only reads needs none). */
  const startCheckpointer = () => {
    if (checkpointer || !backgroundCheckpoints) return;
    const inline = () => {
      if (!closed) db.pragma(`wal_autocheckpoint = ${INLINE_CHECKPOINT_PAGES}`);
    };
    db.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
    checkpointer = startWalCheckpointer(resolve(path), BACKGROUND_CHECKPOINT_MS, inline).catch(() => {
      inline();
      return undefined;
    });
  };

  function appendWrites(writes: StreamWrite[]): AppendResult[] {
    assertOpen();
    startCheckpointer();
    const checked = validateWrites(writes).map((write, w) => {
      const prefix = writes.length === 1 ? '' : `writes[${w}].`;
      return {
        ...write,
        prepared: write.events.map((event: NewEvent, i) => ({
          id: event.id.toLowerCase(),
          type: event.type,
          // the caller's canonical text of the data when it has one (NewEvent.dataText), else written here
          data: event.dataText ?? toJsonText(event.data, `${prefix}events[${i}].data`),
          metadata: toJsonText(event.metadata ?? {}, `${prefix}events[${i}].metadata`),
        })),
      };
    });
    let outcome: ReturnType<typeof appendTransaction>;
    try {
      outcome = appendTransaction.immediate(checked, now().toISOString());
    } catch (error) {
      throw translate(error);
    }
    for (const [name, id] of outcome.newStreams) {
      streamIds.set(name, id);
      streamNames.set(id, name);
    }
    if (outcome.results.length > 0) for (const listener of listeners) listener();
    return outcome.results;
  }

  const source: FeedSource = {
    readAfter: (after, limit, filter) => feedQuery(filter, true)(after + 1n, limit),
    head: () => BigInt((stmt.head.get() as number | null) ?? 0),
    onAppend(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    pollIntervalMs: options.pollIntervalMs ?? 50,
    readAhead:
      path === ':memory:' || !(readAheadMinEvents < Number.POSITIVE_INFINITY)
        ? undefined
        : (after, limit, filter) => {
            // Worth a thread only for a long way to go; the head tells how long (positions are dense).
            if (closed || Number(source.head() as bigint) - Number(after) < readAheadMinEvents)
              return undefined;
            return openSqliteReadAhead({
              path: resolve(path),
              filter,
              limit,
              streamName: streamNameOf,
              knowStream: (id, name) => {
                if (streamNames.has(id)) return;
                streamNames.set(id, name);
                streamIds.set(name, id);
              },
            });
          },
  };

  return {
    name: 'sqlite',
    capabilities: { atomicMultiStreamAppend: true },

    async append(stream, events, appendOptions) {
      return appendWrites([
        { stream, events, expectedRevision: appendOptions?.expectedRevision ?? 'any' },
      ])[0]!;
    },

    async appendMany(writes) {
      return appendWrites(writes);
    },

    readStream(stream: string, readOptions: ReadStreamOptions = {}) {
      let next: number | undefined;
      let remaining = 0;
      let streamId: number | undefined;
      let forwards = true;
      return pagedIterable(() => {
        assertOpen();
        if (next === undefined) {
          const resolved = resolveReadStream(readOptions);
          forwards = resolved.forwards;
          next = resolved.from;
          remaining = resolved.maxCount;
          streamId = lookUpStreamId(stream);
        }
        if (streamId === undefined || remaining <= 0 || next < 0) return undefined;
        const limit = Math.min(pageSize, remaining);
        const rows = (forwards ? stmt.streamForwards : stmt.streamBackwards).all(
          streamId,
          next,
          limit,
        ) as Row[];
        remaining = rows.length < limit ? 0 : remaining - rows.length;
        if (rows.length > 0) {
          const lastRevision = rows[rows.length - 1]![2];
          next = forwards ? lastRevision + 1 : lastRevision - 1;
        }
        return toEvents(rows);
      });
    },

    readAll(readOptions: ReadAllOptions = {}) {
      let query: ((from: bigint, limit: number) => RecordedEvent[]) | undefined;
      let next = 0n;
      let remaining = 0;
      let forwards = true;
      return pagedIterable(() => {
        assertOpen();
        if (!query) {
          const resolved = resolveReadAll(readOptions);
          query = feedQuery(normaliseFilter(readOptions.filter), resolved.forwards);
          forwards = resolved.forwards;
          next = resolved.from;
          remaining = resolved.maxCount;
        }
        if (remaining <= 0 || next < 0n) return undefined;
        const limit = Math.min(pageSize, remaining);
        const events = query(next, limit);
        remaining = events.length < limit ? 0 : remaining - events.length;
        if (events.length > 0) {
          const last = events[events.length - 1]!.position;
          next = forwards ? last + 1n : last - 1n;
        }
        return events;
      });
    },

    subscribeToAll(subscribeOptions: SubscribeOptions = {}) {
      assertOpen();
      const filter = normaliseFilter(subscribeOptions.filter);
      const startAfter = resolveSubscribeFrom(subscribeOptions, source.head() as bigint);
      const subscription = createCatchUpSubscription(source, {
        startAfter,
        filter,
        pageSize,
        onEnd: () => subscriptions.delete(subscription),
      });
      subscriptions.add(subscription);
      return subscription;
    },

    async headPosition() {
      assertOpen();
      const head = stmt.head.get() as number | null;
      return head === null ? undefined : BigInt(head);
    },

    async getCheckpoint(name) {
      assertOpen();
      const position = stmt.getCheckpoint.get(name) as number | undefined;
      return position === undefined ? undefined : BigInt(position);
    },

    async setCheckpoint(name, position) {
      assertOpen();
      stmt.setCheckpoint.run(name, checkPosition(position, 'position'), now().toISOString());
    },

    async ping() {
      assertOpen();
      try {
        stmt.ping.get();
      } catch (error) {
        throw new UnavailableError(`The SQLite event store does not answer: ${(error as Error).message}`);
      }
    },

    async close() {
      if (closed) return;
      await Promise.all([...subscriptions].map((s) => s.close()));
      closed = true;
      await (await checkpointer)?.stop();
      db.close();
    },
  };
}

/** SQLite's own failures become UnavailableError; the store's typed errors pass through. */
function translate(error: unknown): unknown {
  if (error instanceof Database.SqliteError) {
    if (error.code.startsWith('SQLITE_BUSY') || error.code.startsWith('SQLITE_LOCKED')) {
      return new UnavailableError(`The SQLite event store is locked by another writer: ${error.message}`);
    }
    return new UnavailableError(`The SQLite event store failed to append: ${error.message}`);
  }
  return error;
}
