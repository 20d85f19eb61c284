/**
 * Time travel. A seeded 1M-event history (x scale) of one city is appended through the SQLite store port,
 * one simulated second per batch of 1,000 (so the history has a recorded-time axis). Time travel indexes it
 * and writes its snapshots (timed, reported). Then, at seeded random points of the history:
 * - the figure: a city-wide as-of KPI query (`at=` a random recorded time -> nearest snapshot + bounded tail
 *   -> KPIs), p50 over the points;
 * - the baseline, in the same run: the same query answered by replaying the log from its first event.
 * Goal: p50 < 1 s, and >= 10x faster than the replay from the start.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '../../seeds/prng.js';
import { createSqliteEventStore } from '../../src/eventStore/sqlite.js';
import { createCityTimeTravel } from '../../src/timeTravel/cityTwinAdapter.js';
import { percentile, result, timeIt, type Workload } from '../harness.js';
import { BENCH_CITY, cityHistory } from './twinHistory.js';

const START = Date.parse('2026-01-01T00:00:00Z');

function dirSizeMb(dir: string): number {
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) bytes += statSync(join(entry.parentPath, entry.name)).size;
  }
  return bytes / 1e6;
}

export const timeTravelWorkload: Workload = {
  name: 'time-travel',
  description:
    'city-wide as-of KPI query at random points of a 1M-event history (x scale) vs replaying the log from the start',
  async run({ scale }) {
    const total = Math.max(10_000, Math.round(1_000_000 * scale));
    // A snapshot kept in memory every 10k events (1M events: 100 of them, sharing their entities' states),
    // a snapshot file every 50k.
    const snapshotEvery = Math.max(1_000, Math.round(10_000 * Math.min(1, scale * 4)));
    const persistEvery = snapshotEvery * 5;
    const dir = mkdtempSync(join(tmpdir(), 'bench-time-travel-'));
    let now = START;
    const store = createSqliteEventStore(join(dir, 'events.sqlite'), { now: () => new Date(now) });
    try {
      for (const batch of cityHistory(total, 'bench:time-travel')) {
        await store.appendMany(batch);
        now += 1_000;
      }
      const timeTravel = createCityTimeTravel({
        store,
        dir: join(dir, 'time-travel'),
        snapshotEvery,
        persistEvery,
        memorySnapshots: Math.ceil(total / snapshotEvery) + 1,
      });
      const index = await timeIt(() => timeTravel.sync());
      const snapshots = Math.floor(total / snapshotEvery);
      const snapshotMb = dirSizeMb(join(dir, 'time-travel'));

      const rng = createRng('bench:time-travel:points');
      const points = Array.from({ length: 12 }, () => new Date(rng.int(START, now)).toISOString());
      const asOfTimes: number[] = [];
      const tails: number[] = [];
      for (const at of points) {
        const { seconds } = await timeIt(async () => {
          const resolved = await timeTravel.resolve(BENCH_CITY, { at });
          return (await timeTravel.materialize(BENCH_CITY, resolved)).kpis();
        });
        asOfTimes.push(seconds);
        tails.push(timeTravel.lastReplay.replayed);
      }
      // The baseline is slow by nature: a few of the same points.
      const replayTimes: number[] = [];
      for (const at of points.slice(0, 3)) {
        const { seconds } = await timeIt(async () => {
          const resolved = await timeTravel.resolve(BENCH_CITY, { at });
          return (await timeTravel.replayFromStart(BENCH_CITY, resolved)).kpis();
        });
        replayTimes.push(seconds);
      }
      // Like for like: the as-of p50 over the same points as the baseline, and over all points.
      const asOfSame = percentile(asOfTimes.slice(0, 3), 50);
      const replayP50 = percentile(replayTimes, 50);
      const asOfP50 = percentile(asOfTimes, 50);
      timeTravel.close();
      return [
        result({
          workload: 'time-travel',
          metric: `as-of KPI query p50 (${total.toLocaleString('en')} events)`,
          value: asOfP50,
          unit: 's',
          baseline: replayP50,
          goal: '< 1 s and >= 10x faster than a replay from the start',
          met: asOfP50 < 1 && replayP50 / asOfSame >= 10,
        }),
        result({
          workload: 'time-travel',
          metric: 'speed-up over a replay from the start',
          value: replayP50 / asOfSame,
          unit: 'x',
          baseline: null,
          goal: '>= 10x',
          met: replayP50 / asOfSame >= 10,
        }),
        result({
          workload: 'time-travel',
          metric: 'as-of KPI query p95',
          value: percentile(asOfTimes, 95),
          unit: 's',
          baseline: null,
        }),
        result({
          workload: 'time-travel',
          metric: `events replayed per query, max (snapshot every ${snapshotEvery.toLocaleString('en')})`,
          value: Math.max(...tails),
          unit: 'events',
          baseline: total,
        }),
        result({
          workload: 'time-travel',
          metric: `index + ${snapshots} snapshots (1 in 5 on disk), built once`,
          value: index.seconds,
          unit: 's',
          baseline: null,
        }),
        result({
          workload: 'time-travel',
          metric: 'index + snapshots on disk',
          value: snapshotMb,
          unit: 'MB',
          baseline: null,
        }),
      ];
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
