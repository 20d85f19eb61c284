import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { UnavailableError } from '../core/errors.js';
import { createCatchUpSubscription, type FeedSource } from './catchUpSubscription.js';
import { normaliseFilter } from './filter.js';
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
import {
  APPENDING_CACHE_PRAGMA,
  type AppendOutcome,
  createSqliteAppender,
  type PreparedWrite,
} from './sqliteAppend.js';
import {
  EVENT_COLUMNS,
  type EventRow,
  feedParams,
  feedQueryKey,
  feedQuerySql,
  HEAD_SQL,
  STREAM_NAME_SQL,
} from './sqliteFeedQuery.js';
import { openSqliteReadAhead } from './sqliteReadAhead.js';
import { type SqliteWriterThread, startSqliteWriterThread } from './sqliteWriterThread.js';
import { startWalCheckpointer, type WalCheckpointer } from './walCheckpointer.js';
import { toJsonText, validateWrites } from './writeChecks.js';

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
  /**
   * Appends run on a thread of their own (sqliteWriterThread.ts, its own connection) once it has opened the
   * file, so the calling thread's event loop does not step SQLite's inserts and commits. Default false (the
   * server's `SQLITE_WRITER_THREAD`; README "Event store" has the trade-off measured). Not for `:memory:`.
   */
  writerThread?: boolean;
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
    streamNumber: row[1],
  };
}

/**
 * The embedded event store on one SQLite file (WAL). Every append call is one IMMEDIATE transaction, so
 * appendMany is atomic across streams and positions are assigned in commit order, also across processes
 * sharing the file. Streams get an integer id (table `streams`) so the per-stream index stays compact.
 * @example const store = createSqliteEventStore('data/events.sqlite');
 */
/** The SQLite store: the port, and the writer thread's readiness (see SqliteEventStoreOptions.writerThread). */
export interface SqliteEventStore extends EventStore {
  /**
   * Starts the writer thread if the store has one and it is not started yet; resolves true once appends go
   * to it, false when they do not (none asked for, `:memory:`, or it failed).
   */
  writerThreadReady(): Promise<boolean>;
}

export function createSqliteEventStore(
  path: string,
  options: SqliteEventStoreOptions = {},
): SqliteEventStore {
  const now = options.now ?? (() => new Date());
  const pageSize = options.pageSize ?? 1_000;
  const readAheadMinEvents = options.readAheadMinEvents ?? 50_000;
  const backgroundCheckpoints = path !== ':memory:' && (options.backgroundCheckpoints ?? true);
  const useWriterThread = path !== ':memory:' && (options.writerThread ?? false);
  const synchronous = options.synchronous === 'full' ? 'FULL' : 'NORMAL';
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  let db: Database.Database;
  try {
    // Another process (the import CLI) may hold the write lock for one transaction; wait for it, also
    // while switching to WAL and creating the schema below.
    db = new Database(path, { timeout: 10_000 });
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous}`);
    db.pragma(APPENDING_CACHE_PRAGMA);
    db.exec(SCHEMA);
  } catch (error) {
    throw new UnavailableError(`Cannot open the SQLite event store at ${path}: ${(error as Error).message}`);
  }

  const stmt = {
    streamId: db.prepare('SELECT stream_id FROM streams WHERE name = ?').pluck(),
    head: db.prepare(HEAD_SQL).pluck(),
    streamName: db.prepare(STREAM_NAME_SQL).pluck(),
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
  // By id in an array: stream ids are the table's dense rowids, and a rebuild resolves one per event.
  const streamNames: Array<string | undefined> = [];
  /** Caches a committed stream's id both ways. */
  const knowStream = (id: number, name: string): void => {
    streamIds.set(name, id);
    streamNames[id] = name;
  };
  const lookUpStreamId = (name: string): number | undefined => {
    const cached = streamIds.get(name);
    if (cached !== undefined) return cached;
    const id = stmt.streamId.get(name) as number | undefined;
    if (id !== undefined) knowStream(id, name);
    return id;
  };
  // Reads resolve names here instead of joining `streams` on every row; a miss is a stream created since
  // (possibly by another process).
  const streamNameOf = (streamId: number): string => {
    let name = streamNames[streamId];
    if (name === undefined) {
      name = stmt.streamName.get(streamId) as string;
      knowStream(streamId, name);
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
    const params = feedParams(filter);
    const key = feedQueryKey(filter, forwards);
    let statement = feedStatements.get(key);
    if (!statement) {
      statement = db.prepare(feedQuerySql(filter, forwards)).raw();
      feedStatements.set(key, statement);
    }
    return (from: bigint, limit: number) => toEvents(statement.all(from, ...params, limit) as Row[]);
  };

  const listeners = new Set<() => void>();
  const subscriptions = new Set<Subscription>();
  let closed = false;
  const assertOpen = () => {
    if (closed) throw new UnavailableError('The SQLite event store is closed');
  };

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

  const appender = createSqliteAppender(db, streamIds);
  let writerThread: SqliteWriterThread | undefined;
  /** Starts the writer thread on the first append, when asked for (a store that only reads needs none). */
  const startWriterThread = () => {
    if (writerThread || !useWriterThread) return;
    writerThread = startSqliteWriterThread({
      path: resolve(path),
      synchronous,
      autocheckpointPages: backgroundCheckpoints ? BACKSTOP_CHECKPOINT_PAGES : INLINE_CHECKPOINT_PAGES,
    });
  };

  /** Checks and serialises the writes here, then appends them on the writer thread or on this connection. */
  function appendWrites(writes: StreamWrite[]): AppendResult[] | Promise<AppendResult[]> {
    assertOpen();
    startCheckpointer();
    startWriterThread();
    const prepared: PreparedWrite[] = validateWrites(writes).map((write, w) => {
      const prefix = writes.length === 1 ? '' : `writes[${w}].`;
      return {
        stream: write.stream,
        expectedRevision: write.expectedRevision,
        events: write.events.map((event: NewEvent, i) => {
          const id = event.id.toLowerCase();
          return {
            id,
            ...(id !== event.id ? { givenId: event.id } : {}),
            type: event.type,
            // the caller's canonical text of the data when it has one (NewEvent.dataText), else written here
            data: event.dataText ?? toJsonText(event.data, `${prefix}events[${i}].data`),
            metadata: toJsonText(event.metadata ?? {}, `${prefix}events[${i}].metadata`),
          };
        }),
      };
    });
    const recordedAt = now().toISOString();
    if (writerThread?.ready) return writerThread.append(prepared, recordedAt).then(committed);
    return committed(appender.append(prepared, recordedAt));
  }

  /** After a commit: the new streams' ids are known, subscribers are woken. */
  function committed(outcome: AppendOutcome): AppendResult[] {
    for (const [name, id] of outcome.newStreams) knowStream(id, name);
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
        : (after, limit, filter, metadataKeys) => {
            // Worth a thread only for a long way to go; the head tells how long (positions are dense).
            if (closed || Number(source.head() as bigint) - Number(after) < readAheadMinEvents)
              return undefined;
            return openSqliteReadAhead({
              path: resolve(path),
              filter,
              limit,
              streamName: streamNameOf,
              knowStream: (id, name) => {
                if (streamNames[id] === undefined) knowStream(id, name);
              },
              metadataKeys,
            });
          },
  };

  return {
    name: 'sqlite',
    capabilities: { atomicMultiStreamAppend: true },

    writerThreadReady() {
      startWriterThread();
      return writerThread?.whenReady ?? Promise.resolve(false);
    },

    async append(stream, events, appendOptions) {
      const [result] = await appendWrites([
        { stream, events, expectedRevision: appendOptions?.expectedRevision ?? 'any' },
      ]);
      return result!;
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
        metadataKeys: subscribeOptions.metadataKeys,
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
      await writerThread?.close();
      await (await checkpointer)?.stop();
      db.close();
    },
  };
}
