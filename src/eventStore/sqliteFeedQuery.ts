/**
 * The SQL of the SQLite store's global feed reads, shared by the store's own connection and the catch-up
 * read-ahead's worker thread (sqliteReadAheadWorker.ts), so both read exactly the same rows.
 */
import type { EventFilter } from './port.js';

/** Columns every read selects, in the order the store's row decoding expects. */
export const EVENT_COLUMNS =
  'e.position, e.stream_id, e.revision, e.id, e.type, e.data, e.metadata, e.recorded_at';

/** A row of EVENT_COLUMNS, as better-sqlite3's raw mode returns it. */
export type EventRow = [number, number, number, string, string, string, string, string];

/** A filter shape and direction's statement key (statements are prepared once per key). */
export function feedQueryKey(filter: EventFilter | undefined, forwards: boolean): string {
  const prefixes = filter?.streamPrefixes ?? [];
  const types = filter?.eventTypes ?? [];
  return `${forwards}:${prefixes.map((p) => p.length).join(',')}:${types.length}`;
}

/**
 * The feed query for a filter shape: parameters are the inclusive start position, then `feedParams`, then
 * the row limit.
 */
export function feedQuerySql(filter: EventFilter | undefined, forwards: boolean): string {
  const prefixes = filter?.streamPrefixes ?? [];
  const types = filter?.eventTypes ?? [];
  const where = [forwards ? 'e.position >= ?' : 'e.position <= ?'];
  if (prefixes.length > 0)
    where.push(`(${prefixes.map((p) => `substr(s.name, 1, ${p.length}) = ?`).join(' OR ')})`);
  if (types.length > 0) where.push(`e.type IN (${types.map(() => '?').join(', ')})`);
  const join = prefixes.length > 0 ? 'JOIN streams s ON s.stream_id = e.stream_id' : '';
  return `SELECT ${EVENT_COLUMNS} FROM events e ${join} WHERE ${where.join(' AND ')} ORDER BY e.position ${forwards ? 'ASC' : 'DESC'} LIMIT ?`;
}

/** The filter's parameters of feedQuerySql, in order. */
export function feedParams(filter: EventFilter | undefined): string[] {
  return [...(filter?.streamPrefixes ?? []), ...(filter?.eventTypes ?? [])];
}

/** Position of the last event, 0 when the store is empty. */
export const HEAD_SQL = 'SELECT max(position) FROM events';

/** The name of a stream id. */
export const STREAM_NAME_SQL = 'SELECT name FROM streams WHERE stream_id = ?';
