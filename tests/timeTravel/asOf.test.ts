import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createRng } from '../../seeds/prng.js';
import { fixedClock } from '../../src/core/clock.js';
import { ValidationError } from '../../src/core/errors.js';
import { createMemoryEventStore } from '../../src/eventStore/memory.js';
import type { EventStore } from '../../src/eventStore/port.js';
import { parseAsOf } from '../../src/timeTravel/asOf.js';
import { createCityTimeTravel } from '../../src/timeTravel/cityTwinAdapter.js';
import type { TimeTravel } from '../../src/timeTravel/timeTravel.js';
import type { CityTwin } from '../../src/twin/cityTwin.js';
import { appendSeedBatch, appendSeededCity, HISTORY_START } from '../support/seededHistory.js';
import { appendAll, eventFactory, smallCityEvents } from '../support/twinFixtures.js';

/** Everything a client can read of a twin: every feature of every layer, and the KPIs. */
function image(twin: CityTwin): string {
  const layers = (['buildings', 'mobility', 'grid'] as const).map((l) =>
    [...twin.features(l)].sort((a, b) => (a.id < b.id ? -1 : 1)),
  );
  return JSON.stringify({ layers, kpis: twin.kpis() });
}

interface Ctx {
  dir: string;
  store: EventStore;
  clock: ReturnType<typeof fixedClock>;
  tt: TimeTravel<CityTwin>;
  head: bigint;
}

const AsOf = suite<Ctx>('as-of queries');

AsOf.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'tt-'));
  ctx.clock = fixedClock(HISTORY_START);
  ctx.store = createMemoryEventStore({ now: () => ctx.clock.now() });
  await appendSeededCity(ctx.store, ctx.clock, 'suceava', { scale: 0.3 });
  // Another city interleaved, so a city's positions are not contiguous.
  await appendSeededCity(ctx.store, ctx.clock, 'cluj-napoca', { scale: 0.05, batchSize: 200 });
  ctx.head = (await ctx.store.headPosition())!;
  ctx.tt = createCityTimeTravel({ store: ctx.store, dir: ctx.dir, snapshotEvery: 97 });
  await ctx.tt.sync();
});

AsOf.after((ctx) => {
  ctx.tt.close();
  rmSync(ctx.dir, { recursive: true, force: true });
});

AsOf('an as-of twin equals a fresh replay to that position, at many random points', async (ctx) => {
  const rng = createRng('as-of-equivalence');
  for (let i = 0; i < 25; i++) {
    const position = BigInt(rng.int(0, Number(ctx.head)));
    const asOf = await ctx.tt.resolve('suceava', { position });
    const fast = await ctx.tt.materialize('suceava', asOf);
    const slow = await ctx.tt.replayFromStart('suceava', asOf);
    assert.is(image(fast), image(slow), `position ${position}`);
  }
});

AsOf('an as-of query replays at most one snapshot interval of events', async (ctx) => {
  const position = ctx.head - 3n;
  await ctx.tt.materialize('suceava', await ctx.tt.resolve('suceava', { position }));
  assert.ok(ctx.tt.lastReplay.snapshotPosition > 0, 'started from a snapshot');
  assert.ok(ctx.tt.lastReplay.replayed < 97, `replayed ${ctx.tt.lastReplay.replayed}`);
});

AsOf('at= stands for the last position recorded at or before that time', async (ctx) => {
  // Batches are one minute apart: 90 s after the start is inside the second batch's minute.
  const at = new Date(Date.parse(HISTORY_START) + 90_000).toISOString();
  const resolved = await ctx.tt.resolve('suceava', parseAsOf({ at }));
  let expected = 0n;
  for await (const e of ctx.store.readAll()) {
    if (e.stream.includes('suceava') && Date.parse(e.recordedAt) <= Date.parse(at)) expected = e.position;
  }
  assert.is(resolved.position, expected);
  assert.is(resolved.position, 100n, 'two batches of 50');
  const { twin } = await ctx.tt.twinAsOf('suceava', { at });
  assert.is(image(twin), image(await ctx.tt.replayFromStart('suceava', resolved)));
});

AsOf('validAt answers equal a fresh replay skipping what occurred later, at random points', async (ctx) => {
  const rng = createRng('valid-at-equivalence');
  const times: number[] = [];
  for await (const e of ctx.store.readAll()) times.push(Date.parse(String(e.metadata.occurredAt)));
  const lo = Math.min(...times);
  const hi = Math.max(...times);
  for (let i = 0; i < 12; i++) {
    const validAt = new Date(rng.int(lo, hi)).toISOString();
    const position = rng.chance(0.5) ? BigInt(rng.int(1, Number(ctx.head))) : undefined;
    const asOf = await ctx.tt.resolve('suceava', { validAt, ...(position ? { position } : {}) });
    const fast = await ctx.tt.materialize('suceava', asOf);
    const slow = await ctx.tt.replayFromStart('suceava', asOf);
    assert.is(image(fast), image(slow), `validAt ${validAt} position ${position}`);
  }
});

AsOf('a restarted service answers from its persisted index and snapshots', async (ctx) => {
  const again = createCityTimeTravel({ store: ctx.store, dir: ctx.dir, snapshotEvery: 97 });
  try {
    assert.ok(again.snapshotPositions('suceava').length >= 3, 'snapshots read back from disk');
    const asOf = await again.resolve('suceava', { position: ctx.head - 5n });
    const twin = await again.materialize('suceava', asOf);
    assert.ok(again.lastReplay.snapshotPosition > 0);
    assert.is(image(twin), image(await ctx.tt.replayFromStart('suceava', asOf)));
  } finally {
    again.close();
  }
});

AsOf(
  'bitemporal: a reading recorded late counts at the time it occurred, but only once it is known',
  async () => {
    const store = createMemoryEventStore({ now: () => clock.now() });
    const clock = fixedClock(HISTORY_START);
    const tt = createCityTimeTravel({ store, snapshotEvery: 10 });
    try {
      await appendSeededCity(store, clock, 'suceava', { scale: 0.1, batchSize: 500 });
      const building = [...(await tt.twinAsOf('suceava', {})).twin.features('buildings')][0]!;
      const t1 = clock.now().toISOString(); // what we knew before the late reading arrived
      clock.advance(3_600_000);
      // A January meter reading that reaches the store only now.
      await appendSeedBatch(store, [
        {
          id: '11111111-1111-4111-8111-111111111111',
          stream: `building-suceava.${building.id}`,
          kind: 'building',
          entityId: building.id,
          type: 'MeterReadingRecorded',
          data: {
            carrier: 'natural-gas',
            kwh: 987_654,
            periodStart: '2025-01-01T00:00:00Z',
            periodEnd: '2025-02-01T00:00:00Z',
          },
          occurredAt: '2025-02-01T00:00:00.000Z',
        },
      ]);
      const meteredGas = async (asOf: Parameters<typeof tt.twinAsOf>[1]) => {
        const { twin } = await tt.twinAsOf('suceava', asOf);
        const p = twin.get(building.id)!.feature.properties as {
          meteredKwhLast12Months: Record<string, number>;
        };
        return p.meteredKwhLast12Months['natural-gas'] ?? 0;
      };
      // What we knew at t1 about 15 February 2025: not the reading (it was not recorded yet).
      const before = await meteredGas({ at: t1, validAt: '2025-02-15T00:00:00Z' });
      // What we know now about 15 February 2025: the reading counts.
      const now = await meteredGas({ validAt: '2025-02-15T00:00:00Z' });
      // What we know now about 15 January 2025: it had not happened yet.
      const earlier = await meteredGas({ validAt: '2025-01-15T00:00:00Z' });
      assert.ok(now - before >= 987_654 - 1, `now ${now} before ${before}`);
      assert.ok(earlier < 987_654, `earlier ${earlier}`);
    } finally {
      tt.close();
    }
  },
);

AsOf('bad as-of parameters are rejected naming the field and value', () => {
  const bad = (q: Record<string, unknown>, field: string) => {
    try {
      parseAsOf(q);
      assert.unreachable(`accepted ${JSON.stringify(q)}`);
    } catch (err) {
      assert.instance(err, ValidationError);
      const issue = (err as ValidationError).issues[0]!;
      assert.is(issue.field, field);
      assert.equal(
        issue.value,
        Object.values(q).find((v) => v !== '1'),
      );
    }
  };
  bad({ position: '-3' }, 'position');
  bad({ at: 'yesterday' }, 'at');
  bad({ validAt: '2026-13-01T00:00:00Z' }, 'validAt');
  bad({ position: '1', at: '2026-01-01T00:00:00Z' }, 'at');
});

AsOf('the head position is accepted also when the last events belong to no city', async (ctx) => {
  const res = await ctx.store.append('scenario-00000000-0000-4000-8000-000000000000', [
    { id: '55555555-5555-4555-8555-555555555555', type: 'Noted', data: {}, metadata: {} },
  ]);
  const resolved = await ctx.tt.resolve('suceava', { position: res.position });
  assert.is(resolved.position, res.position);
  const { twin } = await ctx.tt.twinAsOf('suceava', { position: res.position });
  assert.is(image(twin), image(await ctx.tt.replayFromStart('suceava', resolved)));
});

AsOf('a position beyond the head is rejected', async (ctx) => {
  try {
    await ctx.tt.resolve('suceava', { position: ctx.head + 10n });
    assert.unreachable();
  } catch (err) {
    assert.instance(err, ValidationError);
    assert.is((err as ValidationError).issues[0]!.field, 'position');
  }
});

AsOf(
  'a validAt view applies the emission factors valid at that moment, also those recorded earlier',
  async () => {
    const store = createMemoryEventStore();
    const tt = createCityTimeTravel({ store, snapshotEvery: 5 });
    try {
      const e = eventFactory(1000n);
      // Its own id: the factory's ids restart at 1 and the store would take it for a retry of the first event.
      await appendAll(store, [
        ...smallCityEvents(),
        {
          ...e(
            'city-testville',
            'EmissionFactorsSet',
            { factors: { electricity: 0.1 }, validFrom: '2030-01-01', source: 'greener grid 2030' },
            '2025-06-01T00:00:00.000Z',
          ),
          id: '99999999-9999-4999-8999-999999999999',
        },
      ]);
      const co2e = async (asOf: Parameters<typeof tt.twinAsOf>[1]) =>
        (await tt.twinAsOf('testville', asOf)).twin.kpis().city.co2eTonnesPerYear;
      // The hand-computed figures of tests/twin/kpis.test.ts: electricity at 0.3, then at 0.1 kg/kWh.
      assert.is(await co2e({}), 80.212, 'now (the latest event happened in 2025)');
      assert.is(await co2e({ validAt: '2029-12-31T23:59:59Z' }), 80.212);
      assert.is(await co2e({ validAt: '2030-01-01T00:00:00Z' }), 68.604);
      const resolved = await tt.resolve('testville', { validAt: '2031-01-01T00:00:00Z' });
      const slow = await tt.replayFromStart('testville', resolved);
      assert.is(slow.kpis().city.co2eTonnesPerYear, 68.604, 'a fresh replay agrees');
    } finally {
      tt.close();
    }
  },
);

AsOf.run();
