import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createRng } from '../../seeds/prng.js';
import { fixedClock } from '../../src/core/clock.js';
import type { EventStore } from '../../src/eventStore/port.js';
import { createSqliteEventStore } from '../../src/eventStore/sqlite.js';
import { createCityTimeTravel } from '../../src/timeTravel/cityTwinAdapter.js';
import type { TimeTravel } from '../../src/timeTravel/timeTravel.js';
import type { CityTwin } from '../../src/twin/cityTwin.js';
import { createTwinRegistry } from '../../src/twin/registry.js';
import { testApp } from '../http/helpers.js';
import { authHeader } from '../support/auth.js';
import { appendSeededCity, HISTORY_START } from '../support/seededHistory.js';

interface Ctx {
  dir: string;
  store: EventStore;
  timeTravel: TimeTravel<CityTwin>;
  app: ReturnType<typeof testApp>;
  auth: { Authorization: string };
  head: bigint;
}

const H = suite<Ctx>('as-of queries and entity history over HTTP');

H.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'tt-http-'));
  const clock = fixedClock(HISTORY_START);
  ctx.store = createSqliteEventStore(join(ctx.dir, 'events.sqlite'), { now: () => clock.now() });
  await appendSeededCity(ctx.store, clock, 'suceava', { scale: 0.2, batchSize: 50 });
  ctx.head = (await ctx.store.headPosition())!;
  // The live twins, fed from the same log, answer queries without time-travel parameters.
  const twins = createTwinRegistry();
  for await (const e of ctx.store.readAll()) twins.apply(e);
  ctx.timeTravel = createCityTimeTravel({ store: ctx.store, dir: join(ctx.dir, 'tt'), snapshotEvery: 120 });
  ctx.app = testApp(ctx.store, { RATE_LIMIT_PER_MINUTE: '0' }, { twins, timeTravel: ctx.timeTravel });
  ctx.auth = await authHeader(ctx.store, 'viewer', ['suceava']);
});

H.after(async (ctx) => {
  ctx.timeTravel.close();
  await ctx.store.close();
  rmSync(ctx.dir, { recursive: true, force: true });
});

H('KPIs and layers as of a position equal a fresh replay to it, and echo the point', async (ctx) => {
  const rng = createRng('as-of-http');
  for (let i = 0; i < 4; i++) {
    const position = BigInt(rng.int(40, Number(ctx.head)));
    const res = await request(ctx.app)
      .get(`/api/v1/cities/suceava/kpis?position=${position}`)
      .set(ctx.auth)
      .expect(200);
    assert.is(res.body.asOf.position, position.toString());
    const replayed = await ctx.timeTravel.replayFromStart('suceava', { position });
    const expected = JSON.parse(JSON.stringify(replayed.kpis()));
    assert.equal(res.body.kpis, expected.city);
    assert.equal(res.body.districts, expected.districts);
    const layer = await request(ctx.app)
      .get(`/api/v1/cities/suceava/layers/buildings?position=${position}&limit=100000`)
      .set(ctx.auth)
      .expect(200);
    assert.is(layer.body.features.length, replayed.counts().buildings);
  }
});

H('bad time-travel parameters are a 400 naming the field and value', async (ctx) => {
  const res = await request(ctx.app)
    .get('/api/v1/cities/suceava/kpis?at=yesterday')
    .set(ctx.auth)
    .expect(400);
  assert.is(res.body.errors[0].field, 'at');
  assert.is(res.body.errors[0].value, 'yesterday');
  const both = await request(ctx.app)
    .get('/api/v1/cities/suceava/kpis?position=3&at=2026-02-01T08:00:00Z')
    .set(ctx.auth)
    .expect(400);
  assert.is(both.body.errors[0].field, 'at');
});

H(
  "an entity's history lists each event with the feature it resulted in, equal to the as-of entity",
  async (ctx) => {
    // A building with several events (registration, certificate, readings, ...).
    const counts = new Map<string, number>();
    for await (const e of ctx.store.readAll({ filter: { streamPrefixes: ['building-suceava.'] } })) {
      counts.set(e.stream, (counts.get(e.stream) ?? 0) + 1);
    }
    const stream = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0];
    const id = stream.slice('building-suceava.'.length);
    const res = await request(ctx.app)
      .get(`/api/v1/cities/suceava/entities/${id}/history`)
      .set(ctx.auth)
      .expect(200);
    assert.is(res.body.kind, 'building');
    assert.is(res.body.steps.length, counts.get(stream));
    assert.is(res.body.steps[0].type, 'BuildingRegistered');
    for (const step of res.body.steps) {
      assert.ok(step.actor && step.occurredAt && step.recordedAt);
      const one = await request(ctx.app)
        .get(`/api/v1/cities/suceava/entities/${id}?position=${step.position}`)
        .set(ctx.auth)
        .expect(200);
      const { distanceM: _d, ...props } = one.body.properties ?? one.body.feature?.properties ?? {};
      assert.equal(step.feature.properties, props, `state after ${step.type} at ${step.position}`);
    }
    await request(ctx.app)
      .get('/api/v1/cities/suceava/entities/no-such-thing/history')
      .set(ctx.auth)
      .expect(404);
  },
);

H.run();
