import request from 'supertest';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../src/config.js';
import { fixedClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { createMemoryEventStore } from '../../src/eventStore/memory.js';
import type { EventStore } from '../../src/eventStore/port.js';
import { createApp } from '../../src/http/app.js';
import { seedAuditFixture } from '../support/auditFixtures.js';
import { createTestKey } from '../support/auth.js';

type App = ReturnType<typeof createApp>;
interface Ctx {
  store: EventStore;
  app: App;
  cluj: string;
  all: string;
  suceava: string;
}

const test = suite<Ctx>('audit API', {} as Ctx);
test.before(async (ctx) => {
  ctx.store = createMemoryEventStore();
  ctx.cluj = await createTestKey(ctx.store, 'auditor', ['cluj-napoca']);
  ctx.all = await createTestKey(ctx.store, 'auditor', '*');
  ctx.suceava = await createTestKey(ctx.store, 'auditor', ['suceava']);
  await seedAuditFixture(ctx.store);
  const config = loadConfig({ EVENT_STORE: 'memory', RATE_LIMIT_PER_MINUTE: '0' });
  ctx.app = createApp({
    config,
    store: ctx.store,
    clock: fixedClock('2026-06-01T00:00:00Z'),
    logger: silentLogger(),
  });
});
test.after(async (ctx) => {
  await ctx.store.close();
});

const get = (ctx: Ctx, url: string, key = ctx.cluj) =>
  request(ctx.app).get(url).set('Authorization', `Bearer ${key}`);

test('an entity history answers who, when, from which source, why and what changed', async (ctx) => {
  const res = await get(ctx, '/api/v1/audit/entities/cluj-napoca/b-1');
  assert.is(res.status, 200);
  const { events, state } = res.body;
  assert.equal(
    events.map((e: { type: string }) => e.type),
    ['BuildingRegistered', 'BuildingEnergyCertified', 'BuildingRetrofitted'],
  );
  const retrofit = events[2];
  assert.is(retrofit.metadata.actor, 'k-ops');
  assert.is(retrofit.metadata.source, 'sector-programme');
  assert.is(retrofit.metadata.reason, 'thermal rehabilitation programme');
  assert.is(retrofit.metadata.occurredAt, '2026-03-01T10:00:00Z');
  assert.ok(retrofit.metadata.hash && retrofit.metadata.prevHash);
  assert.is(typeof retrofit.position, 'string');
  assert.ok(retrofit.recordedAt);
  assert.ok(
    events[0].patch.some((op: { op: string; path: string }) => op.op === 'add' && op.path === '/use'),
  );
  assert.ok(
    events[1].patch.some(
      (op: { path: string; value: unknown }) => op.path === '/energyClass' && op.value === 'E',
    ),
  );
  assert.ok(
    events[2].patch.some(
      (op: { path: string; value: unknown }) => op.path === '/retrofitCount' && op.value === 1,
    ),
  );
  assert.is(state.energyClass, 'E');
  assert.is(state.retrofitCount, 1);
});

test('an entity found in another kind of stream is found too', async (ctx) => {
  const res = await get(ctx, '/api/v1/audit/entities/cluj-napoca/c-1');
  assert.is(res.status, 200);
  assert.is(res.body.events[0].kind, 'mobility');
});

test('an unknown entity is a 404 in scope and a 403 outside it', async (ctx) => {
  assert.is((await get(ctx, '/api/v1/audit/entities/cluj-napoca/nope')).status, 404);
  assert.is((await get(ctx, '/api/v1/audit/entities/cluj-napoca/b-1', ctx.suceava)).status, 403);
});

test('events are filtered by city, actor, source, type, correlation id and time ranges', async (ctx) => {
  const ids = async (query: string, key = ctx.cluj) => {
    const res = await get(ctx, `/api/v1/audit/events?${query}`, key);
    assert.is(res.status, 200, `${query}: ${JSON.stringify(res.body)}`);
    return res.body.events.map((e: { type: string; stream: string }) => `${e.stream}:${e.type}`);
  };
  assert.is((await ids('city=cluj-napoca')).length, 4);
  assert.equal(await ids('city=cluj-napoca&actor=k-ops'), [
    'mobility-cluj-napoca.c-1:MobilityAssetRegistered',
    'building-cluj-napoca.b-1:BuildingRetrofitted',
  ]);
  assert.equal(await ids('city=cluj-napoca&source=certificates'), [
    'building-cluj-napoca.b-1:BuildingEnergyCertified',
  ]);
  assert.equal(await ids('type=BuildingRegistered', ctx.all), [
    'building-cluj-napoca.b-1:BuildingRegistered',
    'building-suceava.b-9:BuildingRegistered',
  ]);
  assert.equal(await ids('city=cluj-napoca&correlationId=corr-d'), [
    'building-cluj-napoca.b-1:BuildingRetrofitted',
  ]);
  assert.equal(
    await ids('city=cluj-napoca&occurredFrom=2026-02-01T00:00:00Z&occurredTo=2026-02-28T23:59:59Z'),
    ['building-cluj-napoca.b-1:BuildingEnergyCertified', 'mobility-cluj-napoca.c-1:MobilityAssetRegistered'],
  );
  assert.is((await ids('city=cluj-napoca&recordedTo=2000-01-01T00:00:00Z')).length, 0);
  assert.is((await ids('city=cluj-napoca&recordedFrom=2000-01-01T00:00:00Z')).length, 4);
});

test('cursor pages walk the whole result once, in order', async (ctx) => {
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res = await get(
      ctx,
      `/api/v1/audit/events?city=cluj-napoca&limit=3${cursor ? `&cursor=${cursor}` : ''}`,
    );
    assert.is(res.status, 200);
    seen.push(...res.body.events.map((e: { position: string }) => e.position));
    cursor = res.body.nextCursor;
    pages++;
  } while (cursor && pages < 10);
  assert.is(seen.length, 4);
  assert.equal(
    seen,
    [...seen].sort((a, b) => Number(a) - Number(b)),
  );
  assert.is(new Set(seen).size, 4);
  assert.is(pages, 2);
});

test('the NDJSON export streams the same events, one per line', async (ctx) => {
  const json = await get(ctx, '/api/v1/audit/events?city=cluj-napoca');
  for (const res of [
    await get(ctx, '/api/v1/audit/events?city=cluj-napoca&format=ndjson'),
    await get(ctx, '/api/v1/audit/events?city=cluj-napoca').set('Accept', 'application/x-ndjson'),
  ]) {
    assert.is(res.status, 200);
    assert.match(String(res.headers['content-type']), /application\/x-ndjson/);
    const lines = res.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines, json.body.events);
  }
});

test('a bad audit query is a 400 naming the parameter', async (ctx) => {
  for (const [query, field] of [
    ['city=cluj-napoca&bogus=1', 'bogus'],
    ['city=cluj-napoca&recordedFrom=yesterday', 'recordedFrom'],
    ['city=cluj-napoca&limit=0', 'limit'],
    ['city=cluj-napoca&cursor=-1', 'cursor'],
  ]) {
    const res = await get(ctx, `/api/v1/audit/events?${query}`);
    assert.is(res.status, 400, query);
    assert.is(res.body.errors[0].field, field);
  }
});

test('verify reports the chains of a city intact', async (ctx) => {
  const res = await get(ctx, '/api/v1/audit/verify?city=cluj-napoca');
  assert.is(res.status, 200);
  assert.is(res.body.ok, true);
  assert.is(res.body.streamsChecked, 2);
  assert.is(res.body.eventsChecked, 4);
  assert.is((await get(ctx, '/api/v1/audit/verify?city=cluj-napoca', ctx.suceava)).status, 403);
});

test.run();
