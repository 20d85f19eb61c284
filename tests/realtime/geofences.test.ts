import request from 'supertest';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../src/config.js';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { createApp } from '../../src/http/app.js';
import { createGeofenceRegistry } from '../../src/realtime/geofenceRegistry.js';
import { geofenceTransitions, prepareGeofence } from '../../src/realtime/geofenceTransitions.js';
import { createTestKey } from '../support/auth.js';
import { box } from '../support/twinFixtures.js';
import {
  CITY,
  type Harness,
  moveVehicle,
  openConsole,
  registerVehicle,
  startHarness,
  until,
} from './liveHarness.js';

const FENCE = box(26.04, 44.04, 26.06, 44.06);

const pure = suite('geofence transitions (pure)');

const fence = prepareGeofence({ geofenceId: 'f', name: 'F', area: FENCE, kinds: ['bus'] });
const report = (lon: number, lat: number, at: string, kind = 'bus') => ({
  assetId: 'a',
  kind,
  coordinates: [lon, lat],
  occurredAt: at,
  position: 1n,
});

pure('a report inside after one outside is an enter at the report', () => {
  const t = geofenceTransitions(
    [fence],
    report(26.0, 44.05, '2026-01-01T00:00:00Z'),
    report(26.05, 44.05, '2026-01-01T00:01:00Z'),
  );
  assert.equal(
    t.map((x) => [x.transition, x.interpolated]),
    [['enter', true]],
  );
});

pure('crossing the fence between two reports yields enter then exit at the boundary, in time order', () => {
  const t = geofenceTransitions(
    [fence],
    report(26.0, 44.05, '2026-01-01T00:00:00.000Z'),
    report(26.1, 44.05, '2026-01-01T00:10:00.000Z'),
  );
  assert.equal(
    t.map((x) => x.transition),
    ['enter', 'exit'],
  );
  assert.equal(
    t[0]!.location.coordinates.map((c) => Number(c.toFixed(6))),
    [26.04, 44.05],
  );
  assert.equal(
    t[1]!.location.coordinates.map((c) => Number(c.toFixed(6))),
    [26.06, 44.05],
  );
  assert.is(t[0]!.occurredAt, '2026-01-01T00:04:00.000Z');
  assert.is(t[1]!.occurredAt, '2026-01-01T00:06:00.000Z');
  assert.ok(t.every((x) => x.interpolated));
});

pure('a kind the fence does not watch, and a path that stays outside, yield nothing', () => {
  assert.equal(
    geofenceTransitions([fence], report(26.0, 44.05, 'x', 'car'), report(26.1, 44.05, 'y', 'car')),
    [],
  );
  assert.equal(geofenceTransitions([fence], report(26.0, 44.0, 'x'), report(26.1, 44.01, 'y')), []);
});

pure('a first report inside is an enter; moving within is nothing', () => {
  assert.equal(
    geofenceTransitions([fence], undefined, report(26.05, 44.05, 'x')).map((x) => x.transition),
    ['enter'],
  );
  assert.equal(geofenceTransitions([fence], report(26.045, 44.05, 'x'), report(26.055, 44.05, 'y')), []);
});

pure.run();

const live = suite<{ h: Harness; app: ReturnType<typeof createApp>; operator: string; viewer: string }>(
  'geofences over HTTP and Socket.IO',
);

live.before.each(async (ctx) => {
  ctx.h = await startHarness({ coalesceMs: 10 });
  ctx.app = createApp({
    config: loadConfig({ EVENT_STORE: 'memory', SEED: 'false' }),
    store: ctx.h.store,
    clock: systemClock,
    logger: silentLogger(),
    geofences: ctx.h.geofences,
  });
  ctx.operator = await createTestKey(ctx.h.store, 'operator', [CITY]);
  ctx.viewer = await createTestKey(ctx.h.store, 'viewer', [CITY]);
});
live.after.each(async (ctx) => {
  await ctx.h.close();
});

const define = (ctx: { app: ReturnType<typeof createApp>; operator: string }, body: object) =>
  request(ctx.app)
    .post(`/api/v1/cities/${CITY}/geofences`)
    .set('Authorization', `Bearer ${ctx.operator}`)
    .send(body);

live('defines a geofence as a city event, lists it, and keeps it across a restart', async (ctx) => {
  const res = await define(ctx, {
    geofenceId: 'old-town',
    name: 'Old town',
    area: FENCE,
    kinds: ['bus', 'scooter'],
  });
  assert.is(res.status, 201, JSON.stringify(res.body));
  assert.is(res.body.geofenceId, 'old-town');
  const list = await request(ctx.app)
    .get(`/api/v1/cities/${CITY}/geofences`)
    .set('Authorization', `Bearer ${ctx.viewer}`);
  assert.is(list.status, 200);
  assert.equal(
    list.body.geofences.map((g: { geofenceId: string }) => g.geofenceId),
    ['old-town'],
  );
  const events = [];
  for await (const e of ctx.h.store.readStream(`city-${CITY}`)) events.push(e.type);
  assert.ok(events.includes('GeofenceDefined'));
  // A fresh node over the same store knows it too.
  const restarted = createGeofenceRegistry(ctx.h.store);
  await restarted.start();
  assert.is(restarted.get(CITY, 'old-town')?.name, 'Old town');
  await restarted.close();
});

live(
  'rejects a malformed fence naming the field, a viewer defining one, and removes one on DELETE',
  async (ctx) => {
    const open = { type: 'Polygon', coordinates: [FENCE.coordinates[0]!.slice(0, 4)] };
    const bad = await define(ctx, { name: 'x', area: open, kinds: ['bus'] });
    assert.is(bad.status, 400);
    assert.match(JSON.stringify(bad.body), /area/);
    const kinds = await define(ctx, { name: 'x', area: FENCE, kinds: ['spaceship'] });
    assert.is(kinds.status, 400);
    assert.match(JSON.stringify(kinds.body), /spaceship/);
    const denied = await request(ctx.app)
      .post(`/api/v1/cities/${CITY}/geofences`)
      .set('Authorization', `Bearer ${ctx.viewer}`)
      .send({ name: 'x', area: FENCE, kinds: ['bus'] });
    assert.is(denied.status, 403);

    const made = await define(ctx, { geofenceId: 'tmp', name: 'Temporary', area: FENCE, kinds: ['bus'] });
    assert.is(made.status, 201);
    const again = await define(ctx, { geofenceId: 'tmp', name: 'Twice', area: FENCE, kinds: ['bus'] });
    assert.is(again.status, 409);
    const removed = await request(ctx.app)
      .delete(`/api/v1/cities/${CITY}/geofences/tmp`)
      .set('Authorization', `Bearer ${ctx.operator}`);
    assert.is(removed.status, 204);
    const gone = await request(ctx.app)
      .get(`/api/v1/cities/${CITY}/geofences/tmp`)
      .set('Authorization', `Bearer ${ctx.viewer}`);
    assert.is(gone.status, 404);
  },
);

live(
  'notifies subscribers of enter and exit as positions arrive, also for a crossing between reports, and replays them over history',
  async (ctx) => {
    const { h } = ctx;
    const made = await define(ctx, { geofenceId: 'centre', name: 'Centre', area: FENCE, kinds: ['bus'] });
    assert.is(made.status, 201);
    const c = await openConsole(h);
    try {
      const ack = await c.subscribe({ city: CITY, layers: ['mobility'] });
      if (!ack.ok) throw new Error(ack.detail);
      await registerVehicle(h, 'bus-7', 26.01, 44.05);
      await registerVehicle(h, 'scooter-1', 26.01, 44.05, 'scooter');
      const enterAt = await moveVehicle(h, 'bus-7', 26.05, 44.05);
      const exitAt = await moveVehicle(h, 'bus-7', 26.09, 44.05);
      await moveVehicle(h, 'scooter-1', 26.09, 44.05);
      const crossAt = await moveVehicle(h, 'bus-7', 26.01, 44.05);
      await until(() => c.geofence.length >= 4, 10_000, 'four transitions');
      const got = c.geofence.map((t) => `${t.transition} ${t.assetId} ${t.position} ${t.interpolated}`);
      assert.equal(got, [
        `enter bus-7 ${enterAt} true`,
        `exit bus-7 ${exitAt} true`,
        `enter bus-7 ${crossAt} true`,
        `exit bus-7 ${crossAt} true`,
      ]);
      assert.ok(c.geofence.every((t) => t.geofenceId === 'centre' && t.geofenceName === 'Centre'));

      const all = await request(ctx.app)
        .get(`/api/v1/cities/${CITY}/geofences/centre/events`)
        .set('Authorization', `Bearer ${ctx.viewer}`);
      assert.is(all.status, 200);
      assert.equal(all.body.transitions, c.geofence);

      // Only what happened from the crossing report's predecessor on: the crossing's two transitions.
      const from = c.geofence[1]!.occurredAt;
      const window = await request(ctx.app)
        .get(`/api/v1/cities/${CITY}/geofences/centre/events`)
        .query({ from: new Date(Date.parse(from) + 1).toISOString(), to: '2026-03-04T00:00:00Z' })
        .set('Authorization', `Bearer ${ctx.viewer}`);
      assert.is(window.status, 200);
      assert.equal(
        window.body.transitions.map((t: { transition: string }) => t.transition),
        ['enter', 'exit'],
      );
      const backwards = await request(ctx.app)
        .get(`/api/v1/cities/${CITY}/geofences/centre/events`)
        .query({ from: '2026-03-04T00:00:00Z', to: '2026-03-03T00:00:00Z' })
        .set('Authorization', `Bearer ${ctx.viewer}`);
      assert.is(backwards.status, 400);
    } finally {
      c.close();
    }
  },
);

live('replays the transitions a console missed while disconnected when it resumes', async (ctx) => {
  const { h } = ctx;
  assert.is(
    (await define(ctx, { geofenceId: 'centre', name: 'Centre', area: FENCE, kinds: ['bus'] })).status,
    201,
  );
  await registerVehicle(h, 'bus-9', 26.01, 44.05);
  const first = await openConsole(h);
  const ack = await first.subscribe({ city: CITY, layers: ['mobility'] });
  if (!ack.ok) throw new Error(ack.detail);
  await until(() => first.view(ack.subscriptionId).position !== undefined);
  const since = first.view(ack.subscriptionId).position!;
  first.close();
  const crossed = await moveVehicle(h, 'bus-9', 26.09, 44.05);
  await h.runner.waitForPosition(crossed, 10_000);
  const again = await openConsole(h);
  try {
    const resumed = await again.subscribe({ city: CITY, layers: ['mobility'], since: since.toString() });
    assert.ok(resumed.ok);
    await until(() => again.geofence.length >= 2, 10_000, 'replayed transitions');
    assert.equal(
      again.geofence.map((t) => `${t.transition} ${t.position}`),
      [`enter ${crossed}`, `exit ${crossed}`],
    );
  } finally {
    again.close();
  }
});

live.run();
