/**
 * The SQLite store's writer thread (started by sqliteWriterThread.ts through core/workerBootstrap.mjs): its
 * own connection to the store's file runs the very append transaction the store runs inline
 * (sqliteAppend.ts), one job at a time, in the order they were posted.
 */

import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { errorToWire } from '../core/errors.js';
import { APPENDING_CACHE_PRAGMA, createSqliteAppender } from './sqliteAppend.js';
import type { WriterJob, WriterReply, WriterSetup } from './sqliteWriterThread.js';

const setup = (workerData as { setup: WriterSetup }).setup;
const port = parentPort!;
const post = (reply: WriterReply) => port.postMessage(reply);

let appender: ReturnType<typeof createSqliteAppender> | undefined;
let db: Database.Database | undefined;
try {
  db = new Database(setup.path, { timeout: 10_000 });
  // WAL is the file's mode (set by the store's connection); these are this connection's own settings.
  db.pragma(`synchronous = ${setup.synchronous}`);
  db.pragma(APPENDING_CACHE_PRAGMA);
  db.pragma(`wal_autocheckpoint = ${setup.autocheckpointPages}`);
  appender = createSqliteAppender(db);
  post({ ready: true });
} catch (error) {
  post({ failed: (error as Error).message });
}

port.on('message', (job: WriterJob) => {
  if ('close' in job) {
    db?.close();
    port.close();
    return;
  }
  try {
    if (!appender) throw new Error('the writer thread could not open the store');
    post({ job: job.job, outcome: appender.append(job.writes, job.recordedAt) });
  } catch (error) {
    post({ job: job.job, error: errorToWire(error) });
  }
});
