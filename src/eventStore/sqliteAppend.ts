import Database from 'better-sqlite3';
import { UnavailableError } from '../core/errors.js';
import { checkBeforeWrite, type IdempotencyProbe, type StoredLocation } from './idempotency.js';
import type { AppendResult, ExpectedRevision } from './port.js';

/**
 * The append transaction of the SQLite store, on one connection: on the store's own (sqlite.ts), or on the
 * writer thread's (sqliteWriterThread.ts). It takes writes already checked and serialised (JSON text made
 * before the write lock is taken, on the caller's thread), so it is the same work wherever it runs.
 */

/**
 * The page cache of a connection that appends (the store's own, or its writer thread's): 8 MB.
 * Not larger, measured: a B-tree split that reorders its new pages (frequent when one transaction inserts
 * into many streams' ranges of the (stream, revision) index) briefly gives a page the number of SQLite's
 * lock-byte page; the commit then truncates the cache past the database's end by walking every slot of its
 * hash table, so a commit costs time in proportion to the cache. Inserting 100 events into random streams
 * per transaction (300k events): 2.8-3.0 s of CPU with a 64 MB cache against 1.7-1.9 s with 8 MB and 1.5 s
 * with SQLite's default 2 MB; in the live benchmark's server, with 64 MB, that walk was its largest native cost.
 * Reads of the log are mostly sequential and served by the OS's file cache beyond it.
 */
export const APPENDING_CACHE_PRAGMA = 'cache_size = -8192';

/** An event ready to be stored: its id (lowercase, as stored), type, and data and metadata as JSON text. */
export interface PreparedEvent {
  id: string;
  type: string;
  data: string;
  metadata: string;
  /** The id as the caller spelled it, when not lowercase (errors name it so). */
  givenId?: string;
}

/** One stream's part of an append, checked (validateWrites) and serialised. */
export interface PreparedWrite {
  stream: string;
  expectedRevision: ExpectedRevision;
  events: PreparedEvent[];
}

/** What an append did: one result per write, and the streams it created (name, id) once committed. */
export interface AppendOutcome {
  results: AppendResult[];
  newStreams: Array<[string, number]>;
}

/**
 * Prepares the statements of an appending connection. `append` runs one IMMEDIATE transaction: all writes
 * or none, positions assigned in commit order (also across processes sharing the file). SQLite's own
 * failures become UnavailableError; the store's typed errors (concurrency, conflicting retries) pass through.
 * `streamIds` caches the connection's committed stream ids: the store passes the map its reads use, so one
 * cache serves both on its connection; the writer thread keeps its own.
 */
export function createSqliteAppender(
  db: Database.Database,
  streamIds = new Map<string, number>(),
): {
  append(writes: PreparedWrite[], recordedAt: string): AppendOutcome;
} {
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
  };

  // Stream ids never change once committed, so they are cached; new ones only after their commit.
  const lookUpStreamId = (name: string): number | undefined => {
    const cached = streamIds.get(name);
    if (cached !== undefined) return cached;
    const id = stmt.streamId.get(name) as number | undefined;
    if (id !== undefined) streamIds.set(name, id);
    return id;
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

  const transaction = db.transaction((writes: PreparedWrite[], recordedAt: string): AppendOutcome => {
    const results: AppendResult[] = [];
    const newStreams = new Map<string, number>();
    const planned = new Map<number, number>();
    for (const write of writes) {
      let streamId = newStreams.get(write.stream) ?? lookUpStreamId(write.stream);
      let current: number | undefined;
      if (streamId !== undefined) {
        current = planned.get(streamId) ?? (stmt.lastRevision.get(streamId) as number | null) ?? undefined;
      }
      const original = checkBeforeWrite(
        write.stream,
        write.events.map((e) => ({ id: e.givenId ?? e.id })),
        write.expectedRevision,
        current,
        (probe) => (streamId === undefined ? [] : lookUpStored(streamId, write.events, probe)),
      );
      if (original) {
        results.push(original);
        continue;
      }
      if (write.events.length === 0) {
        const last = streamId === undefined ? undefined : (stmt.lastPositionOfStream.get(streamId) as number);
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
      for (const e of write.events) {
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
    return { results, newStreams: [...newStreams] };
  });

  return {
    append(writes, recordedAt) {
      let outcome: AppendOutcome;
      try {
        outcome = transaction.immediate(writes, recordedAt);
      } catch (error) {
        throw translate(error);
      }
      for (const [name, id] of outcome.newStreams) streamIds.set(name, id);
      return outcome;
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
