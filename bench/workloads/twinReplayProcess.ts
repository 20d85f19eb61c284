/**
 * One pass of the twin-rebuild benchmark in a process of its own, started the way `npm start` starts the
 * server (its V8 flags, a fresh heap), because a rebuild or a start-up from a snapshot is what a server
 * process does first: measured inside the benchmark's own process, it would also pay for the heap that
 * generating and appending the history left behind. Driven over IPC by twinRebuild.ts: receives
 * `{mode, path, snapshotDir}` and answers `{ok, seconds, cpuSeconds, ...}` or `{ok: false, error}`, then exits.
 *
 * - `raw`: the baseline, `SELECT data FROM events ORDER BY position` and JSON.parse of each row;
 * - `feed`: the store port's subscription from the start with nothing consuming its events;
 * - `rebuild`: a projection runner from the start until caught up, then the twin saved as a snapshot file;
 * - `startup`: a projection runner from that snapshot until caught up.
 */
import Database from 'better-sqlite3';
import { createSqliteEventStore } from '../../src/eventStore/sqlite.js';
import { TWIN_METADATA_KEYS } from '../../src/twin/cityTwin.js';
import { createProjectionRunner } from '../../src/twin/projectionRunner.js';
import { createFileSnapshotStore, createMemorySnapshotStore } from '../../src/twin/snapshotStore.js';
import { timeIt } from '../harness.js';

export type ReplayMode = 'raw' | 'feed' | 'rebuild' | 'startup';

export interface ReplayCommand {
  mode: ReplayMode;
  /** The store's file. */
  path: string;
  /** Where `rebuild` saves the snapshot and `startup` loads it from. */
  snapshotDir: string;
  /** The city whose twin's entity counts are reported. */
  city: string;
}

export type ReplayReply =
  | {
      ok: true;
      seconds: number;
      /** CPU of the whole process (every thread) during the timed part. */
      cpuSeconds: number;
      /** Events (raw, feed) or entity counts of the city's twin (rebuild, startup). */
      events?: number;
      counts?: Record<string, number>;
      /** rebuild: the time to save the snapshot file after the timed part. */
      saveSeconds?: number;
    }
  | { ok: false; error: string };

async function replay({ mode, path, snapshotDir, city }: ReplayCommand): Promise<ReplayReply> {
  const cpu = process.cpuUsage();
  const cpuSeconds = () => {
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / 1e6;
  };
  if (mode === 'raw') {
    const db = new Database(path, { readonly: true });
    const { seconds, value } = await timeIt(() => {
      let n = 0;
      for (const row of db.prepare('SELECT data FROM events ORDER BY position').iterate() as Iterable<{
        data: string;
      }>) {
        JSON.parse(row.data);
        n++;
      }
      return n;
    });
    const used = cpuSeconds();
    db.close();
    return { ok: true, seconds, cpuSeconds: used, events: value };
  }
  const store = createSqliteEventStore(path);
  try {
    if (mode === 'feed') {
      const { seconds, value } = await timeIt(async () => {
        let n = 0;
        // Subscribed as the projection runner subscribes (the metadata a twin reads), so this is the read half of a rebuild
        const subscription = store.subscribeToAll({ from: 'start', metadataKeys: TWIN_METADATA_KEYS });
        for await (const message of subscription) {
          if (message.type === 'caughtUp') break;
          n++;
        }
        await subscription.close();
        return n;
      });
      return { ok: true, seconds, cpuSeconds: cpuSeconds(), events: value };
    }
    const files = createFileSnapshotStore(snapshotDir);
    const { seconds, value: runner } = await timeIt(async () => {
      const r = createProjectionRunner({
        store,
        // The rebuild snapshots once, after the timed part; the start-up loads the rebuild's snapshot.
        snapshots: mode === 'rebuild' ? createMemorySnapshotStore() : files,
        snapshotEveryEvents: Number.POSITIVE_INFINITY,
        snapshotEveryMs: Number.POSITIVE_INFINITY,
      });
      await r.start();
      await r.waitUntilCaughtUp(600_000);
      return r;
    });
    const used = cpuSeconds();
    const counts = runner.twins.get(city)?.counts() ?? {};
    let saveSeconds: number | undefined;
    if (mode === 'rebuild') saveSeconds = (await timeIt(() => files.save(runner.twins.toSnapshot()))).seconds;
    await runner.stop();
    return {
      ok: true,
      seconds,
      cpuSeconds: used,
      counts,
      ...(saveSeconds !== undefined ? { saveSeconds } : {}),
    };
  } finally {
    await store.close();
  }
}

process.once('message', async (command: ReplayCommand) => {
  let reply: ReplayReply;
  try {
    reply = await replay(command);
  } catch (error) {
    reply = { ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
  process.send?.(reply, () => process.disconnect());
});
