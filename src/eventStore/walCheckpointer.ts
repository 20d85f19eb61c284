/**
 * Checkpoints of a SQLite WAL on a thread of their own. SQLite checkpoints inside the commit that pushes the
 * WAL past its bound: that commit copies the pages back into the database file and waits for two fsyncs, on
 * the thread that appends, which in this server also projects the twin and serves every socket. Under a
 * sustained write load (or a busy disk) those waits were the server's longest stalls. This worker owns a
 * second connection to the same file and runs PASSIVE checkpoints (they never block the writer or readers) on
 * an interval, so the copying and the fsyncs happen off the appending thread. A PASSIVE checkpoint cannot
 * always finish while the writer keeps appending, and only a finished one lets the log start over, so the
 * appending connection keeps SQLite's automatic checkpoint as a backstop at a higher bound: when it runs, the
 * worker has already copied nearly everything. Durability does not change: a commit is in the WAL before it is
 * acknowledged, whoever copies it back later.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export interface WalCheckpointer {
  /** Stops the thread (after the checkpoint it may be running). */
  stop(): Promise<void>;
  /** Checkpoints run so far, and the last one's result (pages in the WAL, pages copied back). */
  readonly stats: { checkpoints: number; walPages: number; checkpointed: number };
}

// A plain CommonJS script: the worker needs nothing of the project but the SQLite driver, whose resolved path
// it is given, so it starts without a TypeScript loader.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { timeout: 5000 });
const timer = setInterval(() => {
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ type: 'checkpointed', walPages: result.log, checkpointed: result.checkpointed });
  } catch (error) {
    // Busy or locked for the moment (another process holds the file): the next tick tries again.
    if (error.code === 'SQLITE_BUSY' || error.code === 'SQLITE_LOCKED') return;
    clearInterval(timer);
    parentPort.postMessage({ type: 'failed', message: String(error.message) });
    db.close();
    parentPort.close();
  }
}, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort.close();
});
parentPort.postMessage({ type: 'ready' });
`;

const driver = createRequire(import.meta.url).resolve('better-sqlite3');

type WorkerMessage =
  | { type: 'ready' }
  | { type: 'checkpointed'; walPages: number; checkpointed: number }
  | { type: 'failed'; message: string };

/**
 * Starts the checkpoint thread of the database at `path`; resolves once its connection is open. `onFailure`
 * is called once if the thread stops by itself (an error other than a busy file, or it died): the store then
 * goes back to checkpointing inline.
 */
export function startWalCheckpointer(
  path: string,
  intervalMs: number,
  onFailure: (error: Error) => void,
): Promise<WalCheckpointer> {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, path, intervalMs } });
  const stats = { checkpoints: 0, walPages: 0, checkpointed: 0 };
  let stopping = false;
  return new Promise((resolve, reject) => {
    let ready = false;
    const stopped = new Promise<void>((done) => worker.once('exit', () => done()));
    worker.once('error', (error) => (ready ? onFailure(error) : reject(error)));
    worker.once('exit', (code) => {
      const error = new Error(`WAL checkpoint thread exited with code ${code}`);
      if (!ready) reject(error);
      else if (!stopping) onFailure(error);
    });
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'failed') {
        stopping = true;
        onFailure(new Error(`WAL checkpoint failed: ${message.message}`));
        return;
      }
      if (message.type === 'checkpointed') {
        stats.checkpoints += 1;
        stats.walPages = message.walPages;
        stats.checkpointed = message.checkpointed;
        return;
      }
      ready = true;
      // Once running, the thread must not keep alive a process that has nothing else to do (a CLI that
      // forgot to close); until then, and while stopping, it is awaited, so it counts.
      worker.unref();
      resolve({
        stats,
        stop() {
          // Awaited until the thread has exited, also when it stopped by itself after a failure and is still
          // closing: an unreferenced thread would let the process end under the caller's await.
          worker.ref();
          if (!stopping) {
            stopping = true;
            worker.postMessage('stop');
          }
          return stopped;
        },
      });
    });
  });
}
