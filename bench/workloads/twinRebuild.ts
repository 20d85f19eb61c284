/**
 * Twin rebuild and start-up. A seeded 1M-event history (x scale) of one city is appended through the SQLite
 * store port; then, in the same run:
 * - a raw pass: `SELECT data FROM events ORDER BY position` + JSON.parse of each row (the baseline);
 * - the port's subscription from the start with nothing consuming its events (the read share of a rebuild);
 * - a full rebuild: a projection runner subscribes from the start and applies everything (events/s);
 * - a start-up from the snapshot the rebuild wrote (load + restore + catch-up) beside the full rebuild time.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createSqliteEventStore } from '../../src/eventStore/sqlite.js';
import { createProjectionRunner } from '../../src/twin/projectionRunner.js';
import { createFileSnapshotStore, createMemorySnapshotStore } from '../../src/twin/snapshotStore.js';
import { result, timeIt, type Workload } from '../harness.js';
import { BENCH_CITY, cityHistory } from './twinHistory.js';

/** CPU seconds (user + system, all threads of this process) since `start`. */
function cpuSeconds(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

export const twinRebuildWorkload: Workload = {
  name: 'twin-rebuild',
  description:
    'rebuild of the city twin from a 1M-event log (x scale) vs a raw SELECT + JSON.parse pass; start-up from a snapshot vs a full rebuild',
  async run({ scale }) {
    const total = Math.max(10_000, Math.round(1_000_000 * scale));
    const dir = mkdtempSync(join(tmpdir(), 'bench-twin-'));
    const dbPath = join(dir, 'events.sqlite');
    try {
      const store = createSqliteEventStore(dbPath);
      for (const batch of cityHistory(total)) await store.appendMany(batch);

      // Baseline: the raw rows, parsed.
      const db = new Database(dbPath, { readonly: true });
      const rawCpu = process.cpuUsage();
      const raw = await timeIt(() => {
        let n = 0;
        for (const row of db.prepare('SELECT data FROM events ORDER BY position').iterate() as Iterable<{
          data: string;
        }>) {
          JSON.parse(row.data);
          n++;
        }
        return n;
      });
      const rawCpuSeconds = cpuSeconds(rawCpu);
      db.close();
      const rawRate = raw.value / raw.seconds;

      // The port's share of a rebuild: the same subscription, its events consumed by nothing.
      const feed = await timeIt(async () => {
        let n = 0;
        const subscription = store.subscribeToAll({ from: 'start' });
        for await (const message of subscription) {
          if (message.type === 'caughtUp') break;
          n++;
        }
        await subscription.close();
        return n;
      });
      const feedRate = feed.value / feed.seconds;

      // Full rebuild through the port's subscription, snapshotting once at the end (into a file).
      const snapshotDir = join(dir, 'twin');
      const rebuildCpu = process.cpuUsage();
      const rebuild = await timeIt(async () => {
        const runner = createProjectionRunner({
          store,
          snapshots: createMemorySnapshotStore(),
          snapshotEveryEvents: Number.POSITIVE_INFINITY,
          snapshotEveryMs: Number.POSITIVE_INFINITY,
        });
        await runner.start();
        await runner.waitUntilCaughtUp(600_000);
        return runner;
      });
      const rebuildCpuSeconds = cpuSeconds(rebuildCpu);
      const runner = rebuild.value;
      const counts = runner.twins.get(BENCH_CITY)?.counts();
      const files = createFileSnapshotStore(snapshotDir);
      const save = await timeIt(() => files.save(runner.twins.toSnapshot()));
      await runner.stop();
      const snapshotMb = statSync(join(snapshotDir, 'twin-snapshot.json')).size / 1e6;
      const rebuildRate = total / rebuild.seconds;

      // Start-up: load the snapshot, restore, catch up (nothing left), ready.
      const startup = await timeIt(async () => {
        const r = createProjectionRunner({
          store,
          snapshots: files,
          snapshotEveryEvents: Number.POSITIVE_INFINITY,
        });
        await r.start();
        await r.waitUntilCaughtUp(600_000);
        return r;
      });
      const restoredCounts = startup.value.twins.get(BENCH_CITY)?.counts();
      if (JSON.stringify(restoredCounts) !== JSON.stringify(counts)) {
        throw new Error(
          `restored twin differs: ${JSON.stringify(restoredCounts)} vs ${JSON.stringify(counts)}`,
        );
      }
      await startup.value.stop();
      await store.close();
      console.log(
        `  (${total.toLocaleString('en')} events; twin: ${JSON.stringify(counts)}; snapshot ${snapshotMb.toFixed(1)} MB, saved in ${save.seconds.toFixed(2)} s)`,
      );
      return [
        result({
          workload: 'twin-rebuild',
          metric: 'rebuild rate (events/s)',
          value: rebuildRate,
          unit: 'events/s',
          baseline: rawRate,
          goal: '>= 100k/s and >= 30% of raw SELECT + JSON.parse',
          met: rebuildRate >= 100_000 && rebuildRate >= 0.3 * rawRate,
        }),
        result({
          workload: 'twin-rebuild',
          // Where the rebuild's time goes: reading the log through the port vs applying it to the twin.
          metric: 'port subscription alone, no twin (events/s)',
          value: feedRate,
          unit: 'events/s',
          baseline: rawRate,
        }),
        result({
          workload: 'twin-rebuild',
          // On a shared, loaded machine wall time depends on the scheduler; CPU time of this process does less.
          metric: 'rebuild rate per CPU second (events/s)',
          value: total / rebuildCpuSeconds,
          unit: 'events/s',
          baseline: raw.value / rawCpuSeconds,
        }),
        result({
          workload: 'twin-rebuild',
          metric: 'start-up from snapshot (s)',
          value: startup.seconds,
          unit: 's',
          baseline: rebuild.seconds,
          goal: '< 3 s',
          met: startup.seconds < 3,
        }),
        result({
          workload: 'twin-rebuild',
          metric: 'snapshot size (MB)',
          value: snapshotMb,
          unit: 'MB',
          baseline: null,
        }),
      ];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
