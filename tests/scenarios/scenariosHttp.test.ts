import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { eventHash, GENESIS_HASH } from '../../src/audit/hashChain.js';
import { fixedClock } from '../../src/core/clock.js';
import { parseStream } from '../../src/domain/streams.js';
import type { EventStore, RecordedEvent } from '../../src/eventStore/port.js';
import { createSqliteEventStore } from '../../src/eventStore/sqlite.js';
import { ScenarioService } from '../../src/scenarios/service.js';
import { createCityTimeTravel } from '../../src/timeTravel/cityTwinAdapter.js';
import type { TimeTravel } from '../../src/timeTravel/timeTravel.js';
import type { TwinFeature } from '../../src/twin/changes.js';
import type { CityTwin } from '../../src/twin/cityTwin.js';
import { testApp } from '../http/helpers.js';
import { authHeader } from '../support/auth.js';
import { appendSeedBatch, appendSeededCity } from '../support/seededHistory.js';

interface Ctx {
  dir: string;
  store: EventStore;
  clock: ReturnType<typeof fixedClock>;
  timeTravel: TimeTravel<CityTwin>;
  app: ReturnType<typeof testApp>;
  auth: { Authorization: string };
  /** A moment after the seeded history and before the later real events. */
  pastDate: string;
  laterEvents: { retrofit: string; failure: string; building: string; gridElement: string };
}

const S = suite<Ctx>('scenarios over HTTP');

S.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'scn-'));
  ctx.clock = fixedClock('2026-03-01T08:00:00.000Z');
  ctx.store = createSqliteEventStore(join(ctx.dir, 'events.db'), { now: () => ctx.clock.now() });
  await appendSeededCity(ctx.store, ctx.clock, 'suceava', { scale: 0.3, batchSize: 100 });
  ctx.clock.advance(3_600_000);
  ctx.pastDate = ctx.clock.now().toISOString();
  ctx.clock.advance(3_600_000);
  // The real city moves on after that date: a building is retrofitted, a grid element fails.
  ctx.timeTravel = createCityTimeTravel({
    store: ctx.store,
    dir: join(ctx.dir, 'time-travel'),
    snapshotEvery: 150,
  });
  const { twin } = await ctx.timeTravel.twinAsOf('suceava', {});
  const building = [...twin.features('buildings')].find((b) => Number(b.properties.yearBuilt) < 1990)!;
  const gridElement = [...twin.features('grid')].find((g) => g.properties.kind === 'substation')!;
  ctx.laterEvents = {
    retrofit: '22222222-2222-4222-8222-222222222222',
    failure: '33333333-3333-4333-8333-333333333333',
    building: building.id,
    gridElement: gridElement.id,
  };
  await appendSeedBatch(ctx.store, [
    {
      id: ctx.laterEvents.retrofit,
      stream: `building-suceava.${building.id}`,
      kind: 'building',
      entityId: building.id,
      type: 'BuildingRetrofitted',
      data: { measures: ['windows'], expectedSavingsPercent: 10 },
      occurredAt: ctx.clock.now().toISOString(),
    },
    {
      id: ctx.laterEvents.failure,
      stream: `grid-suceava.${gridElement.id}`,
      kind: 'grid',
      entityId: gridElement.id,
      type: 'GridElementFailed',
      data: { cause: 'transformer fire' },
      occurredAt: ctx.clock.now().toISOString(),
    },
  ]);
  const scenarios = new ScenarioService({ store: ctx.store, clock: ctx.clock, timeTravel: ctx.timeTravel });
  ctx.app = testApp(ctx.store, { RATE_LIMIT_PER_MINUTE: '0' }, { timeTravel: ctx.timeTravel, scenarios });
  ctx.auth = await authHeader(ctx.store, 'planner', ['suceava']);
});

S.after(async (ctx) => {
  ctx.timeTravel.close();
  await ctx.store.close();
  rmSync(ctx.dir, { recursive: true, force: true });
});

async function allEvents(store: EventStore): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of store.readAll()) out.push(e);
  return out;
}

S(
  'a planner forks at a past date, retrofits pre-1990 blocks of one district and reads the CO2e difference per district',
  async (ctx) => {
    const created = await request(ctx.app)
      .post('/api/v1/scenarios')
      .set(ctx.auth)
      .send({
        city: 'suceava',
        name: 'Deep retrofit of the panel blocks',
        description: 'Every pre-1990 residential block of one district',
        fork: { at: ctx.pastDate },
        mode: 'frozen',
      })
      .expect(201);
    const id = created.body.id as string;
    assert.is(created.body.fork.at, ctx.pastDate);

    // The district with the most pre-1990 residential buildings at the fork.
    const layer = await request(ctx.app)
      .get(`/api/v1/scenarios/${id}/layers/buildings?use=residential`)
      .set(ctx.auth)
      .expect(200);
    const counts = new Map<string, number>();
    for (const f of layer.body.features as TwinFeature[]) {
      if (Number(f.properties.yearBuilt) <= 1989) {
        const d = String(f.properties.district);
        counts.set(d, (counts.get(d) ?? 0) + 1);
      }
    }
    const [district, blocks] = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]!;
    assert.ok(blocks > 0);

    const op = await request(ctx.app)
      .post(`/api/v1/scenarios/${id}/operations`)
      .set(ctx.auth)
      .send({
        type: 'retrofit',
        filter: { district, use: 'residential', yearBuilt: { to: 1989 } },
        measures: ['wall-insulation', 'roof-insulation', 'windows'],
        expectedSavingsPercent: 40,
        newEnergyClass: 'B',
        costEurPerM2: 120,
      })
      .expect(201);
    assert.is(op.body.operations[0].events, blocks);

    const compare = await request(ctx.app).get(`/api/v1/scenarios/${id}/compare`).set(ctx.auth).expect(200);
    assert.is(compare.body.against, 'fork');
    const co2 = (d: string) => compare.body.kpis.districts[d].co2eTonnesPerYear;
    assert.ok(co2(district).delta < 0, `CO2e of ${district} falls: ${JSON.stringify(co2(district))}`);
    assert.ok(co2(district).deltaPercent < 0);
    for (const other of Object.keys(compare.body.kpis.districts)) {
      if (other !== district) assert.is(co2(other).delta, 0, `${other} unchanged`);
    }
    assert.ok(compare.body.kpis.city.co2eTonnesPerYear.delta < 0);
    assert.is(
      compare.body.kpis.city.co2eTonnesPerYear.delta,
      co2(district).delta,
      'the city changes by exactly the district change',
    );

    // The overlay events are causally linked to the operation and sealed in the scenario stream only.
    const events = await request(ctx.app).get(`/api/v1/scenarios/${id}/events`).set(ctx.auth).expect(200);
    assert.is(events.body.events.length, blocks);
    for (const e of events.body.events) {
      assert.is(e.metadata.causationId, op.body.operations[0].operationId);
      assert.ok(e.metadata.actor.length > 0 && e.metadata.actor !== 'anonymous', 'actor from the key');
    }

    const diff = await request(ctx.app)
      .get(`/api/v1/scenarios/${id}/diff/buildings`)
      .set(ctx.auth)
      .expect(200);
    assert.is(diff.body.counts.changed, blocks);
    assert.is(diff.body.counts.added, 0);
    assert.is(diff.body.counts.removed, 0);
  },
);

S('scenario events never appear in real streams, and the scenario stream is hash-chained', async (ctx) => {
  const all = await allEvents(ctx.store);
  const scenarioEvents = all.filter((e) => e.stream.startsWith('scenario-'));
  assert.ok(scenarioEvents.length > 0);
  for (const e of all) {
    const kind = parseStream(e.stream).kind;
    if (kind !== 'scenario') assert.is(e.metadata.scenarioId, undefined, `real stream ${e.stream} is clean`);
  }
  const byStream = new Map<string, RecordedEvent[]>();
  for (const e of scenarioEvents) byStream.set(e.stream, [...(byStream.get(e.stream) ?? []), e]);
  for (const events of byStream.values()) {
    let prev = GENESIS_HASH;
    for (const e of events) {
      assert.is(e.metadata.prevHash, prev);
      assert.is(e.metadata.hash, eventHash(e));
      prev = String(e.metadata.hash);
    }
  }
});

S(
  'a frozen scenario does not see the real city after its fork; a tracking one does, minus excluded events',
  async (ctx) => {
    const { building, gridElement, failure } = ctx.laterEvents;
    const frozen = await request(ctx.app)
      .post('/api/v1/scenarios')
      .set(ctx.auth)
      .send({ city: 'suceava', name: 'frozen', fork: { at: ctx.pastDate }, mode: 'frozen' })
      .expect(201);
    const tracking = await request(ctx.app)
      .post('/api/v1/scenarios')
      .set(ctx.auth)
      .send({
        city: 'suceava',
        name: 'what if that substation had not failed',
        fork: { at: ctx.pastDate },
        mode: 'tracking',
        excludeEvents: [failure],
      })
      .expect(201);
    const feature = async (scenario: string, layer: string, entity: string) => {
      const res = await request(ctx.app)
        .get(`/api/v1/scenarios/${scenario}/layers/${layer}`)
        .set(ctx.auth)
        .expect(200);
      return (res.body.features as TwinFeature[]).find((f) => f.id === entity)!;
    };
    const retrofits = (f: TwinFeature) => (f.properties.retrofits as { count: number }).count;
    const real = (await ctx.timeTravel.twinAsOf('suceava', {})).twin;
    const realBuilding = real.get(building)!.feature;
    const frozenBuilding = await feature(frozen.body.id, 'buildings', building);
    const trackingBuilding = await feature(tracking.body.id, 'buildings', building);
    assert.is(
      retrofits(frozenBuilding),
      retrofits(realBuilding) - 1,
      'frozen: the later retrofit is not there',
    );
    assert.is(retrofits(trackingBuilding), retrofits(realBuilding), 'tracking: the later retrofit flowed in');
    assert.is.not(real.get(gridElement)!.feature.properties.status, 'active');
    const trackingGrid = await feature(tracking.body.id, 'grid', gridElement);
    assert.is(
      trackingGrid.properties.status,
      (await feature(frozen.body.id, 'grid', gridElement)).properties.status,
    );
    assert.is.not(
      trackingGrid.properties.status,
      real.get(gridElement)!.feature.properties.status,
      'failure excluded',
    );
  },
);

S('validation errors name the field and the value', async (ctx) => {
  const bad = await request(ctx.app)
    .post('/api/v1/scenarios')
    .set(ctx.auth)
    .send({ city: 'suceava', name: 'x', fork: { at: 'last tuesday' }, mode: 'frozen' })
    .expect(400);
  assert.ok(bad.body.errors.some((i: { field: string; value: unknown }) => i.field.startsWith('fork')));

  const mode = await request(ctx.app)
    .post('/api/v1/scenarios')
    .set(ctx.auth)
    .send({ city: 'suceava', name: 'x', fork: { position: 1 }, mode: 'sideways' })
    .expect(400);
  assert.ok(
    mode.body.errors.some(
      (i: { field: string; value: unknown }) => i.field === 'mode' && i.value === 'sideways',
    ),
  );

  const notAfterFork = await request(ctx.app)
    .post('/api/v1/scenarios')
    .set(ctx.auth)
    .send({
      city: 'suceava',
      name: 'x',
      fork: { at: ctx.pastDate },
      mode: 'tracking',
      excludeEvents: ['44444444-4444-4444-8444-444444444444'],
    })
    .expect(400);
  assert.is(notAfterFork.body.errors[0].field, 'excludeEvents.0');
  assert.is(notAfterFork.body.errors[0].value, '44444444-4444-4444-8444-444444444444');

  const created = await request(ctx.app)
    .post('/api/v1/scenarios')
    .set(ctx.auth)
    .send({ city: 'suceava', name: 'v', fork: { at: ctx.pastDate }, mode: 'frozen' })
    .expect(201);
  const id = created.body.id;
  const op = await request(ctx.app)
    .post(`/api/v1/scenarios/${id}/operations`)
    .set(ctx.auth)
    .send({
      type: 'retrofit',
      filter: { yearBuilt: { to: 'old' } },
      measures: ['windows'],
      expectedSavingsPercent: 20,
    })
    .expect(400);
  assert.ok(
    op.body.errors.some(
      (i: { field: string; value: unknown }) =>
        i.field === 'operation.filter.yearBuilt.to' && i.value === 'old',
    ),
    JSON.stringify(op.body.errors),
  );

  const rule = await request(ctx.app)
    .post(`/api/v1/scenarios/${id}/events`)
    .set(ctx.auth)
    .send({
      events: [
        {
          type: 'BuildingRetrofitted',
          entityId: 'no-such-building',
          data: { measures: ['windows'], expectedSavingsPercent: 5 },
        },
      ],
    })
    .expect(422);
  assert.is(rule.body.errors[0].field, 'entityId');
  assert.is(rule.body.errors[0].value, 'no-such-building');
  const before = await allEvents(ctx.store);
  // A batch with one bad event appends nothing.
  await request(ctx.app)
    .post(`/api/v1/scenarios/${id}/events`)
    .set(ctx.auth)
    .send({
      events: [
        {
          type: 'BuildingRetrofitted',
          entityId: ctx.laterEvents.building,
          data: { measures: ['windows'], expectedSavingsPercent: 5 },
        },
        {
          type: 'BuildingRetrofitted',
          entityId: ctx.laterEvents.building,
          data: { measures: ['doors'], expectedSavingsPercent: 5 },
        },
      ],
    })
    .expect(400);
  assert.is((await allEvents(ctx.store)).length, before.length);
});

S('scenarios are listed, read and archived; an archived one takes no more events', async (ctx) => {
  const list = await request(ctx.app).get('/api/v1/scenarios?city=suceava').set(ctx.auth).expect(200);
  assert.ok(list.body.scenarios.length >= 3);
  const id = list.body.scenarios[0].id;
  await request(ctx.app).get(`/api/v1/scenarios/${id}`).set(ctx.auth).expect(200);
  const archived = await request(ctx.app)
    .post(`/api/v1/scenarios/${id}/archive`)
    .set(ctx.auth)
    .send({})
    .expect(200);
  assert.is(archived.body.status, 'archived');
  await request(ctx.app)
    .post(`/api/v1/scenarios/${id}/operations`)
    .set(ctx.auth)
    .send({ type: 'add-chargers', count: 2 })
    .expect(409);
  const kpis = await request(ctx.app).get(`/api/v1/scenarios/${id}/kpis`).set(ctx.auth).expect(200);
  assert.ok(kpis.body.kpis.city);
  const active = await request(ctx.app).get('/api/v1/scenarios?status=active').set(ctx.auth).expect(200);
  assert.not.ok(active.body.scenarios.some((s: { id: string }) => s.id === id));
});

S('adding chargers where coverage is worst raises the share of homes near a charger', async (ctx) => {
  const created = await request(ctx.app)
    .post('/api/v1/scenarios')
    .set(ctx.auth)
    .send({ city: 'suceava', name: 'chargers', fork: { at: ctx.pastDate }, mode: 'frozen' })
    .expect(201);
  const id = created.body.id;
  const op = await request(ctx.app)
    .post(`/api/v1/scenarios/${id}/operations`)
    .set(ctx.auth)
    .send({ type: 'add-chargers', count: 3, powerKw: 150, operator: 'City of Suceava' })
    .expect(201);
  assert.is(op.body.operations[0].events, 3);
  const compare = await request(ctx.app).get(`/api/v1/scenarios/${id}/compare`).set(ctx.auth).expect(200);
  const city = compare.body.kpis.city;
  const chargerKeys = Object.keys(city).filter((k) => /charger/i.test(k));
  assert.ok(chargerKeys.length > 0, JSON.stringify(Object.keys(city)));
  assert.ok(
    chargerKeys.some((k) => typeof city[k].delta === 'number' && city[k].delta > 0),
    JSON.stringify(chargerKeys.map((k) => [k, city[k]])),
  );
  const diff = await request(ctx.app).get(`/api/v1/scenarios/${id}/diff/mobility`).set(ctx.auth).expect(200);
  assert.is(diff.body.counts.added, 3);
  // The new chargers are found by a spatial query on the scenario's layer (a polygon around the first).
  const first = diff.body.added.features[0] as TwinFeature & { geometry: { coordinates: [number, number] } };
  const [lon, lat] = first.geometry.coordinates;
  const d = 0.001;
  const within = await request(ctx.app)
    .post(`/api/v1/scenarios/${id}/layers/mobility?kind=ev-charger`)
    .set(ctx.auth)
    .send({
      type: 'Polygon',
      coordinates: [
        [
          [lon - d, lat - d],
          [lon + d, lat - d],
          [lon + d, lat + d],
          [lon - d, lat + d],
          [lon - d, lat - d],
        ],
      ],
    })
    .expect(200);
  assert.ok(within.body.features.some((f: TwinFeature) => f.id === first.id));
});

S(
  'scenario layers answer as of a position or a time: before an operation its chargers are not there',
  async (ctx) => {
    const created = await request(ctx.app)
      .post('/api/v1/scenarios')
      .set(ctx.auth)
      .send({ city: 'suceava', name: 'Chargers, then and now', fork: { at: ctx.pastDate }, mode: 'frozen' })
      .expect(201);
    const id = created.body.id as string;
    const fork = created.body.fork.position as string;
    const chargers = async (query: string) => {
      const res = await request(ctx.app)
        .get(`/api/v1/scenarios/${id}/layers/mobility?kind=ev-charger${query}`)
        .set(ctx.auth)
        .expect(200);
      return res.body as { features: TwinFeature[]; asOf?: { position: string; at?: string } };
    };
    const before = (await chargers('')).features.length;
    ctx.clock.advance(60_000);
    const beforeOperation = ctx.clock.now().toISOString();
    ctx.clock.advance(60_000);
    const op = await request(ctx.app)
      .post(`/api/v1/scenarios/${id}/operations`)
      .set(ctx.auth)
      .send({ type: 'add-chargers', count: 2, powerKw: 50, operator: 'City of Suceava' })
      .expect(201);
    const after = BigInt(op.body.operations[0].position as string);
    assert.is((await chargers('')).features.length, before + 2, 'now');
    const then = await chargers(`&at=${encodeURIComponent(beforeOperation)}`);
    assert.is(then.features.length, before, 'at a time before the operation');
    assert.is(then.asOf?.at, beforeOperation);
    assert.is((await chargers(`&position=${fork}`)).features.length, before, 'at the fork');
    assert.is((await chargers(`&position=${after}`)).features.length, before + 2, 'at the operation');
    assert.is(
      (await chargers(`&position=${after - 1n}`)).features.length,
      before + 1,
      'between its two events',
    );
    const bad = await request(ctx.app)
      .get(`/api/v1/scenarios/${id}/layers/mobility?validAt=${encodeURIComponent(beforeOperation)}`)
      .set(ctx.auth)
      .expect(400);
    assert.is(bad.body.errors[0].field, 'validAt');
  },
);

S.run();
