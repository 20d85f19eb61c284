import { Worker } from 'node:worker_threads';
import { errorFromWire, UnavailableError, type WireError } from '../core/errors.js';
import type { AppendOutcome, PreparedWrite } from './sqliteAppend.js';

/**
 * Appends of the SQLite store on a thread of its own (sqliteWriterWorker.ts, its own connection to the
 * file), so the event loop that serves requests and pushes live changes does not step SQLite's inserts and
 * commits: in the live benchmark they were about a sixth of the server's event loop, in the longest
 * synchronous blocks it had (its event-loop delay p99 went from 462 to 141 ms; see the README for what it
 * costs: a batch now also waits for the round trip). The calling thread still checks and serialises each
 * write (sqlite.ts), so the thread only runs the transaction (sqliteAppend.ts), one job at a time in the
 * order posted: positions stay in commit order and each append is still one transaction.
 *
 * Until the thread has opened the file (`ready`), and for good once it failed, the store appends on its own
 * connection instead; both take SQLite's write lock, so the two never interleave inside a transaction.
 */
export interface SqliteWriterThread {
  /** True once the thread has opened the file and until it fails or is closed: appends may go to it. */
  readonly ready: boolean;
  /** Resolves true once the thread is ready, false if it failed (or was closed) first. */
  readonly whenReady: Promise<boolean>;
  /** Runs one append transaction on the thread. */
  append(writes: PreparedWrite[], recordedAt: string): Promise<AppendOutcome>;
  /** Lets the appends posted finish, then stops the thread. */
  close(): Promise<void>;
}

/** What the thread is started with. */
export interface WriterSetup {
  path: string;
  synchronous: 'NORMAL' | 'FULL';
  /** WAL pages at which the thread's connection checkpoints by itself (its commits, its checkpoints). */
  autocheckpointPages: number;
}

/** To the thread: an append, or stop. */
export type WriterJob = { job: number; writes: PreparedWrite[]; recordedAt: string } | { close: true };

/** From the thread: it opened the file (or could not); an append's outcome or error. */
export type WriterReply =
  | { ready: true }
  | { failed: string }
  | { job: number; outcome: AppendOutcome }
  | { job: number; error: WireError };

const workerModule = new URL(
  import.meta.url.endsWith('.ts') ? './sqliteWriterWorker.ts' : './sqliteWriterWorker.js',
  import.meta.url,
).href;

/** Starts the writer thread on the store file at `path`; `onFailure` hears why it stopped appending, once. */
export function startSqliteWriterThread(
  setup: WriterSetup,
  onFailure: (error: Error) => void = () => {},
): SqliteWriterThread {
  const worker = new Worker(new URL('../core/workerBootstrap.mjs', import.meta.url), {
    workerData: { module: workerModule, setup },
  });
  const pending = new Map<number, { resolve(o: AppendOutcome): void; reject(e: Error): void }>();
  /** Settles once the last append posted is answered: the thread answers in order, so all before it are too. */
  let lastAnswered: Promise<unknown> = Promise.resolve();
  let nextJob = 0;
  let ready = false;
  let settleReady: (ready: boolean) => void = () => {};
  const whenReady = new Promise<boolean>((resolve) => {
    settleReady = resolve;
  });
  let stopped = false;
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    worker.once('exit', () => {
      exited = true;
      resolve();
    }),
  );

  // Referenced while it starts (it may be awaited: whenReady); once ready, an idle thread must not keep a
  // process alive that has nothing else to do; one being stopped does, until it has exited.
  const unrefWhenIdle = () => {
    if (pending.size === 0 && !stopped) worker.unref();
  };

  /** The thread can no longer append: what it owes fails (its outcome unknown to the caller), appends go inline. */
  const fail = (error: Error) => {
    const wasStopped = stopped;
    ready = false;
    stopped = true;
    settleReady(false);
    for (const p of pending.values()) p.reject(error);
    pending.clear();
    if (!wasStopped) onFailure(error);
  };

  worker.on('message', (reply: WriterReply) => {
    if ('ready' in reply) {
      if (!stopped) ready = true;
      settleReady(ready);
      unrefWhenIdle();
      return;
    }
    if ('failed' in reply) {
      fail(new UnavailableError(`The SQLite writer thread could not open the store: ${reply.failed}`));
      void worker.terminate();
      return;
    }
    const waiting = pending.get(reply.job);
    if (!waiting) return;
    pending.delete(reply.job);
    unrefWhenIdle();
    if ('error' in reply) waiting.reject(errorFromWire(reply.error));
    else waiting.resolve(reply.outcome);
  });
  worker.on('error', (error) =>
    fail(new UnavailableError(`The SQLite writer thread failed: ${error.message}`)),
  );
  worker.on('exit', (code) => {
    if (!stopped) fail(new UnavailableError(`The SQLite writer thread exited with code ${code}`));
  });

  return {
    get ready() {
      return ready;
    },
    whenReady,
    append(writes, recordedAt) {
      if (!ready) return Promise.reject(new UnavailableError('The SQLite writer thread is not running'));
      const job = nextJob++;
      const answer = new Promise<AppendOutcome>((resolve, reject) => {
        pending.set(job, { resolve, reject });
        // The thread keeps the process alive while it owes an answer.
        worker.ref();
        worker.postMessage({ job, writes, recordedAt } satisfies WriterJob);
      });
      lastAnswered = answer.catch(() => undefined);
      return answer;
    },
    async close() {
      ready = false;
      settleReady(false);
      // Appends already posted are answered first (the thread handles messages in order)
      await lastAnswered;
      stopped = true;
      if (!exited) {
        // awaited until it has exited: it counts meanwhile
        worker.ref();
        worker.postMessage({ close: true } satisfies WriterJob);
        await Promise.race([exit, new Promise((r) => setTimeout(r, 5_000).unref())]);
        if (!exited) await worker.terminate();
      }
    },
  };
}
