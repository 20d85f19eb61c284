import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { EventStore } from '../../src/eventStore/port.js';
import { createSqliteEventStore } from '../../src/eventStore/sqlite.js';
import { createProjectionRunner, type ProjectionRunner } from '../../src/twin/projectionRunner.js';
import { authHeader } from '../support/auth.js';
import { appendAll, box, smallCityEvents } from '../support/twinFixtures.js';
import { testApp } from './helpers.js';

const test = suite('twin read routes');
const ctx = {} as {
  dir: string;
  store: EventStore;
  runner: ProjectionRunner;
  app: ReturnType<typeof testApp>;
  auth: { Authorization: string };
};

test.before(async () => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'twin-routes-'));
  ctx.store = createSqliteEventStore(join(ctx.dir, 'events.sqlite'));
  await appendAll(ctx.store, smallCityEvents());
  ctx.runner = createProjectionRunner({ store: ctx.store });
  await ctx.runner.start();
  await ctx.runner.waitUntilCaughtUp(30_000);
  ctx.app = testApp(
    ctx.store,
    {},
    {
      twins: ctx.runner.twins,
      runner: ctx.runner,
      readiness: [{ name: 'twin', check: async () => ctx.runner.caughtUp }],
    },
  );
  ctx.auth = await authHeader(ctx.store, 'viewer');
});

test.after(async () => {
  await ctx.runner.stop();
  await ctx.store.close();
  rmSync(ctx.dir, { recursive: true, force: true });
});

const get = (url: string) => request(ctx.app).get(url).set(ctx.auth);

test('lists the cities with their districts, counts and last position', async () => {
  const res = await get('/api/v1/cities').expect(200);
  const city = res.body.cities.find((c: { id: string }) => c.id === 'testville');
  assert.is(city.name, 'Testville');
  assert.equal(city.counts, { buildings: 3, mobility: 3, grid: 3 });
  assert.equal(
    city.districts.map((d: { id: string }) => d.id),
    ['north', 'south'],
  );
  assert.type(city.position, 'string');
});

test('shows one city with its boundary, districts and emission factors', async () => {
  const res = await get('/api/v1/cities/testville').expect(200);
  assert.is(res.body.boundary.type, 'Polygon');
  assert.is(res.body.districts[1].boundary.type, 'Polygon');
  assert.is(res.body.emissionFactors.kgCo2ePerKwh.electricity, 0.3);
});

test('answers 404 problem+json for an unknown city, layer or entity', async () => {
  const city = await get('/api/v1/cities/atlantis').expect(404);
  assert.match(city.headers['content-type'] ?? '', /problem\+json/);
  await get('/api/v1/cities/testville/layers/rivers').expect(404);
  await get('/api/v1/cities/testville/entities/nope').expect(404);
});

test('serves a layer filtered by bbox as a streamed GeoJSON FeatureCollection', async () => {
  const res = await get('/api/v1/cities/testville/layers/buildings?bbox=26.0,44.0,26.02,44.0099').expect(200);
  assert.match(res.headers['content-type'] ?? '', /application\/geo\+json/);
  const body = JSON.parse(res.text);
  assert.is(body.type, 'FeatureCollection');
  assert.equal(
    body.features.map((f: { id: string }) => f.id),
    ['b1', 'b3'],
  );
  assert.is(body.numberMatched, 2);
  assert.is(body.features[0].properties.co2eTonnesPerYear, 18.64);
});

test('near sorts by distance and adds distanceM; kind filters the assets', async () => {
  const res = await get('/api/v1/cities/testville/layers/mobility?near=26.005,44.005&radius=2000').expect(
    200,
  );
  const features = JSON.parse(res.text).features as Array<{ id: string; properties: { distanceM: number } }>;
  assert.equal(
    features.map((f) => f.id),
    ['c1', 'v1', 's1'],
  );
  assert.ok(Math.abs(features[0]!.properties.distanceM - 111.2) < 1);
  const chargers = JSON.parse(
    (await get('/api/v1/cities/testville/layers/mobility?kind=ev-charger').expect(200)).text,
  );
  assert.equal(
    chargers.features.map((f: { id: string }) => f.id),
    ['c1'],
  );
});

test('filters by attributes such as energyClass and status', async () => {
  const c = JSON.parse(
    (await get('/api/v1/cities/testville/layers/buildings?energyClass=C,B').expect(200)).text,
  );
  assert.equal(
    c.features.map((f: { id: string }) => f.id),
    ['b1'],
  );
  const failed = JSON.parse(
    (await get('/api/v1/cities/testville/layers/grid?status=failed').expect(200)).text,
  );
  assert.equal(
    failed.features.map((f: { id: string }) => f.id),
    ['n2'],
  );
});

test('POST with a polygon body returns the features within it', async () => {
  const res = await request(ctx.app)
    .post('/api/v1/cities/testville/layers/buildings')
    .set(ctx.auth)
    .send(box(26.0, 44.01, 26.02, 44.02))
    .expect(200);
  assert.equal(
    JSON.parse(res.text).features.map((f: { id: string }) => f.id),
    ['b2'],
  );
  const bad = await request(ctx.app)
    .post('/api/v1/cities/testville/layers/buildings')
    .set(ctx.auth)
    .send({ type: 'Point', coordinates: [26, 44] })
    .expect(400);
  assert.match(bad.body.detail, /within/);
});

test('pages with limit and an opaque cursor, with a Link to the next page', async () => {
  const first = await get('/api/v1/cities/testville/layers/grid?limit=2').expect(200);
  const page1 = JSON.parse(first.text);
  assert.equal(
    page1.features.map((f: { id: string }) => f.id),
    ['l1', 'n1'],
  );
  assert.match(first.headers.link ?? '', /rel="next"/);
  const page2 = JSON.parse(
    (await get(`/api/v1/cities/testville/layers/grid?limit=2&cursor=${page1.next}`).expect(200)).text,
  );
  assert.equal(
    page2.features.map((f: { id: string }) => f.id),
    ['n2'],
  );
  assert.is(page2.next, null);
});

test('rejects bad query values naming the parameter and the value', async () => {
  const bbox = await get('/api/v1/cities/testville/layers/buildings?bbox=26,44,abc').expect(400);
  assert.is(bbox.body.errors[0].field, 'bbox');
  assert.is(bbox.body.errors[0].value, '26,44,abc');
  const radius = await get('/api/v1/cities/testville/layers/buildings?near=26,44&radius=-5').expect(400);
  assert.is(radius.body.errors[0].field, 'radius');
  const limit = await get('/api/v1/cities/testville/layers/buildings?limit=0').expect(400);
  assert.is(limit.body.errors[0].field, 'limit');
  const unknown = await get('/api/v1/cities/testville/layers/buildings?colour=red').expect(400);
  assert.is(unknown.body.errors[0].field, 'colour');
  const cursor = await get('/api/v1/cities/testville/layers/buildings?cursor=%%%').expect(400);
  assert.is(cursor.body.errors[0].field, 'cursor');
});

test('shows one entity as a Feature with its layer', async () => {
  const res = await get('/api/v1/cities/testville/entities/b2').expect(200);
  assert.is(res.body.type, 'Feature');
  assert.is(res.body.layer, 'buildings');
  assert.is(res.body.properties.finalEnergyBasis, 'mixed');
  assert.equal(res.body.coverage400m, { chargers: 0, transitStops: 1 });
});

test('serves the KPIs of the city and each district with their definitions', async () => {
  const res = await get('/api/v1/cities/testville/kpis').expect(200);
  assert.is(res.body.kpis.co2eTonnesPerYear, 80.212);
  assert.is(res.body.districts.north.co2eTonnesPerYear, 42);
  assert.ok(res.body.definitions.co2eTonnesPerYear.unit);
});

test('reflects an event appended after start once the runner applied it', async () => {
  const result = await ctx.store.append('building-testville.b1', [
    {
      id: '11111111-1111-4111-8111-111111111111',
      type: 'RooftopPvInstalled',
      data: { kWp: 5 },
      metadata: {
        actor: 't',
        source: 't',
        occurredAt: '2025-02-01T00:00:00Z',
        correlationId: 'c',
        causationId: null,
      },
    },
  ]);
  await ctx.runner.waitForPosition(result.position, 10_000);
  const res = await get('/api/v1/cities/testville/kpis').expect(200);
  assert.is(res.body.kpis.renewables.pvKWp, 15);
  assert.is(res.body.position, result.position.toString());
});

test('the OpenAPI document lists the twin routes', async () => {
  const res = await request(ctx.app).get('/api/v1/openapi.json').set(ctx.auth).expect(200);
  for (const path of [
    '/api/v1/cities',
    '/api/v1/cities/{city}',
    '/api/v1/cities/{city}/layers/{layer}',
    '/api/v1/cities/{city}/entities/{id}',
    '/api/v1/cities/{city}/kpis',
  ]) {
    assert.ok(res.body.paths[path], path);
  }
  assert.ok(res.body.paths['/api/v1/cities/{city}/layers/{layer}'].post);
});

test('GET /ready reports the twin as caught up', async () => {
  const res = await request(ctx.app).get('/ready').expect(200);
  assert.ok(res.body.checks.some((c: { name: string; ready: boolean }) => c.name === 'twin' && c.ready));
});

test('every layer response is GeoJSON that GDAL ogrinfo reads (skipped without GDAL)', async () => {
  if (spawnSync('which', ['ogrinfo']).status !== 0) {
    console.log('  (ogrinfo not installed: GDAL check skipped)');
    return;
  }
  for (const layer of ['buildings', 'mobility', 'grid']) {
    const res = await get(`/api/v1/cities/testville/layers/${layer}`).expect(200);
    const file = join(ctx.dir, `${layer}.geojson`);
    writeFileSync(file, res.text);
    const out = execFileSync('ogrinfo', ['-ro', '-al', '-so', file], { encoding: 'utf8' });
    assert.match(out, /Feature Count: 3/);
  }
});

test.run();
