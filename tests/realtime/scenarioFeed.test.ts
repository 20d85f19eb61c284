import request from 'supertest';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createClientView } from '../../src/realtime/clientView.js';
import type { ScenarioService } from '../../src/scenarios/service.js';
import type { TwinFeature } from '../../src/twin/changes.js';
import { testApp } from '../http/helpers.js';
import { authHeader } from '../support/auth.js';
import { flatChanges } from '../support/flatChanges.js';
import {
  CITY,
  type Harness,
  moveVehicle,
  openConsole,
  point,
  registerVehicle,
  startHarness,
  until,
} from './liveHarness.js';

/** The western half of Testville. */
const AREA = [26.0, 44.0, 26.05, 44.1] as const;
const WHO = { actor: 'planner-1', source: 'test', correlationId: 'c-1' };
/** Where bus-i was registered. */
const home = (i: number) => [26.01 + i * 0.012, 44.05];

interface Ctx {
  h: Harness;
  scenarios: ScenarioService;
  app: ReturnType<typeof testApp>;
  auth: { Authorization: string };
}

const live = suite<Ctx>('scenario subscriptions over /live');

live.before.each(async (ctx) => {
  ctx.h = await startHarness({ coalesceMs: 5 }, { scenarios: true });
  ctx.scenarios = ctx.h.scenarios!;
  ctx.app = testApp(
    ctx.h.store,
    { RATE_LIMIT_PER_MINUTE: '0' },
    { timeTravel: ctx.h.timeTravel!, scenarios: ctx.scenarios },
  );
  ctx.auth = await authHeader(ctx.h.store, 'planner', '*');
  // Eight buses, four in the western half, four in the eastern.
  for (let i = 0; i < 8; i++) await registerVehicle(ctx.h, `bus-${i}`, home(i)[0]!, home(i)[1]!);
});

live.after.each(async (ctx) => {
  await ctx.h.close();
});

/** Forks a scenario of Testville at the store's head. */
async function fork(ctx: Ctx, mode: 'frozen' | 'tracking' = 'tracking'): Promise<string> {
  const head = (await ctx.h.store.headPosition())!;
  const info = await ctx.scenarios.create(
    { city: CITY, name: `what if (${mode})`, fork: { position: head.toString() }, mode },
    WHO,
  );
  return info.id;
}

/** Moves a vehicle inside the scenario only; returns the event's global position. */
async function moveInScenario(ctx: Ctx, id: string, vehicle: string, lon: number, lat: number) {
  const result = await ctx.scenarios.append(
    id,
    [{ type: 'VehiclePositionReported', entityId: vehicle, data: { location: point(lon, lat) } }],
    WHO,
  );
  return BigInt(result.position!);
}

/** The HTTP scenario layer's features in AREA, by `mobility:id`. */
async function httpLayer(ctx: Ctx, id: string): Promise<Map<string, TwinFeature>> {
  const res = await request(ctx.app)
    .get(`/api/v1/scenarios/${id}/layers/mobility?bbox=${AREA.join(',')}&limit=1000`)
    .set(ctx.auth)
    .expect(200);
  return new Map((res.body.features as TwinFeature[]).map((f) => [`mobility:${f.id}`, f]));
}

const locationOf = (f: TwinFeature | undefined) => (f?.geometry as { coordinates?: number[] })?.coordinates;

live(
  'a scenario subscription starts with the snapshot the HTTP scenario layer returns for its area',
  async (ctx) => {
    const id = await fork(ctx);
    // In the scenario an eastern bus drives west and a western one leaves the area; the city stays as it is.
    await moveInScenario(ctx, id, 'bus-6', 26.02, 44.02);
    await moveInScenario(ctx, id, 'bus-0', 26.09, 44.09);
    await ctx.scenarios.append(
      id,
      [
        {
          type: 'MobilityAssetRegistered',
          entityId: 'tram-x',
          data: { kind: 'tram', location: point(26.03, 44.03), operator: 'STB' },
        },
      ],
      WHO,
    );
    const c = await openConsole(ctx.h, 'planner-all');
    try {
      const ack = await c.subscribe({ city: CITY, layers: ['mobility'], bbox: [...AREA], scenario: id });
      assert.ok(ack.ok, JSON.stringify(ack));
      if (!ack.ok) return;
      const view = c.view(ack.subscriptionId);
      await until(() => view.position !== undefined && view.complete, 15_000, 'snapshot');
      assert.is(c.snapshots[0]?.reason, 'initial');
      assert.is(c.snapshots[0]?.position, ack.position);
      const expected = await httpLayer(ctx, id);
      assert.equal([...view.features.keys()].sort(), [...expected.keys()].sort());
      for (const [key, feature] of expected) assert.equal(view.features.get(key), feature, key);
      assert.ok(view.features.has('mobility:bus-6') && view.features.has('mobility:tram-x'));
      assert.not.ok(view.features.has('mobility:bus-0'), 'moved out of the area in the scenario');
      // The city's own twin still has bus-0 in the area and no tram.
      assert.ok(ctx.h.runner.twins.get(CITY)?.features('mobility'));
      const real = [...ctx.h.runner.twins.get(CITY)!.features('mobility')].map((f) => f.id);
      assert.ok(real.includes('bus-0') && !real.includes('tram-x'));
    } finally {
      c.close();
    }
  },
);

live(
  'a scenario edit arrives as a change at its global position, and a subscription to the city does not see it',
  async (ctx) => {
    const id = await fork(ctx);
    const c = await openConsole(ctx.h, 'planner-all');
    try {
      const onScenario = await c.subscribe({
        city: CITY,
        layers: ['mobility'],
        bbox: [...AREA],
        scenario: id,
      });
      const onCity = await c.subscribe({ city: CITY, layers: ['mobility'], bbox: [...AREA] });
      assert.ok(onScenario.ok && onCity.ok);
      if (!onScenario.ok || !onCity.ok) return;
      const scenarioView = c.view(onScenario.subscriptionId);
      const cityView = c.view(onCity.subscriptionId);
      await until(() => scenarioView.complete && cityView.complete && scenarioView.position !== undefined);

      const edit = await moveInScenario(ctx, id, 'bus-1', 26.04, 44.01);
      await until(
        () => locationOf(scenarioView.features.get('mobility:bus-1'))?.[1] === 44.01,
        15_000,
        'the scenario edit',
      );
      const mine = c.changes.filter((m) => m.subscriptionId === onScenario.subscriptionId);
      const change = flatChanges(mine).find((ch) => ch.id === 'bus-1');
      assert.is(change?.position, edit.toString());
      // The console held bus-1: the edit (a position report in the scenario) comes as a move to its point.
      assert.equal(change?.op === 'move' && [change.x, change.y], point(26.04, 44.01).coordinates);

      // A later real move reaches the city's subscription (and the tracking scenario); the edit never does.
      const real = await moveVehicle(ctx.h, 'bus-2', 26.035, 44.06);
      await until(() => cityView.position !== undefined && cityView.position >= real, 15_000, 'city change');
      await until(() => (scenarioView.position ?? 0n) >= real, 15_000, 'scenario sees the real move');
      const cityChanges = flatChanges(c.changes.filter((m) => m.subscriptionId === onCity.subscriptionId));
      assert.not.ok(
        cityChanges.some((ch) => ch.position === edit.toString()),
        'a scenario edit on the city feed',
      );
      assert.equal(locationOf(cityView.features.get('mobility:bus-1')), home(1));
      assert.equal(locationOf(scenarioView.features.get('mobility:bus-2')), [26.035, 44.06]);
      for (const v of [scenarioView, cityView]) {
        assert.equal(v.gaps, []);
        assert.equal(v.duplicates, []);
      }
    } finally {
      c.close();
    }
  },
);

live('a frozen scenario sees its own edits but none of the city changes after its fork', async (ctx) => {
  const id = await fork(ctx, 'frozen');
  const c = await openConsole(ctx.h, 'planner-all');
  try {
    const ack = await c.subscribe({ city: CITY, layers: ['mobility'], bbox: [...AREA], scenario: id });
    assert.ok(ack.ok);
    if (!ack.ok) return;
    const view = c.view(ack.subscriptionId);
    await until(() => view.complete && view.position !== undefined);
    await moveVehicle(ctx.h, 'bus-2', 26.035, 44.06);
    const edit = await moveInScenario(ctx, id, 'bus-3', 26.045, 44.02);
    await until(() => (view.position ?? 0n) >= edit, 15_000, 'the scenario edit');
    assert.equal(locationOf(view.features.get('mobility:bus-3')), [26.045, 44.02]);
    assert.equal(locationOf(view.features.get('mobility:bus-2')), home(2), 'as at the fork');
    assert.equal(view.features, await httpLayer(ctx, id));
  } finally {
    c.close();
  }
});

live(
  'a scenario console that reconnects with since gets exactly the scenario changes it missed',
  async (ctx) => {
    const id = await fork(ctx);
    const first = await openConsole(ctx.h, 'planner-all');
    let view = createClientView();
    let since: bigint;
    try {
      const ack = await first.subscribe({ city: CITY, layers: ['mobility'], bbox: [...AREA], scenario: id });
      assert.ok(ack.ok);
      if (!ack.ok) return;
      view = first.view(ack.subscriptionId);
      await until(() => view.complete && view.position !== undefined);
      const edit = await moveInScenario(ctx, id, 'bus-0', 26.011, 44.051);
      await until(() => view.position === edit, 15_000, `the first edit (${edit}, at ${view.position})`);
      since = view.position!;
    } finally {
      first.close();
    }

    // While it is away: scenario edits and real moves (one per bus, so nothing is coalesced away).
    const missed: bigint[] = [];
    missed.push(await moveInScenario(ctx, id, 'bus-1', 26.021, 44.061));
    missed.push(await moveVehicle(ctx.h, 'bus-2', 26.036, 44.071));
    missed.push(await moveInScenario(ctx, id, 'bus-3', 26.046, 44.081));
    missed.push(await moveInScenario(ctx, id, 'bus-7', 26.049, 44.091));
    await moveVehicle(ctx.h, 'bus-6', 26.099, 44.099);

    const second = await openConsole(ctx.h, 'planner-all');
    try {
      const ack = await second.subscribe({
        city: CITY,
        layers: ['mobility'],
        bbox: [...AREA],
        scenario: id,
        since: since.toString(),
      });
      assert.ok(ack.ok);
      if (!ack.ok) return;
      assert.is(ack.position, since.toString());
      const last = missed.at(-1)!;
      const reached = () => BigInt(second.changes.at(-1)?.position ?? '0');
      await until(() => reached() >= last, 15_000, 'the missed changes');
      // The view the first console held, carried on with what the second one received.
      for (const m of second.changes) view.applyChanges(m);
      assert.is(second.snapshots.length, 0, 'resumed, not resynchronised');
      const positions = second.changes.flatMap((m) => flatChanges(m).map((ch) => BigInt(ch.position)));
      assert.equal(positions, missed);
      assert.equal(second.changes[0]?.after, since.toString());
      assert.equal(view.gaps, []);
      assert.equal(view.duplicates, []);
      assert.equal(view.features, await httpLayer(ctx, id));
    } finally {
      second.close();
    }
  },
);

/** The id of the event at `position`. */
async function eventIdAt(ctx: Ctx, position: bigint): Promise<string> {
  for await (const e of ctx.h.store.readAll({ fromPosition: position, maxCount: 1 })) return e.id;
  throw new Error(`no event at ${position}`);
}

live(
  'a tracking scenario leaves out its excluded event, and one feed serves its subscribers until the last leaves',
  async (ctx) => {
    const forkAt = (await ctx.h.store.headPosition())!;
    const excluded = await moveVehicle(ctx.h, 'bus-2', 26.041, 44.071);
    await moveVehicle(ctx.h, 'bus-3', 26.046, 44.081);
    const info = await ctx.scenarios.create(
      {
        city: CITY,
        name: 'had bus-2 not moved',
        fork: { position: forkAt.toString() },
        mode: 'tracking',
        excludeEvents: [await eventIdAt(ctx, excluded)],
      },
      WHO,
    );
    const c = await openConsole(ctx.h, 'planner-all');
    try {
      const acks = await Promise.all([
        c.subscribe({ city: CITY, layers: ['mobility'], bbox: [...AREA], scenario: info.id }),
        c.subscribe({ city: CITY, layers: ['mobility'], scenario: info.id }),
      ]);
      const [inArea, whole] = acks.map((ack) => {
        if (!ack.ok) throw new Error(ack.detail);
        return ack.subscriptionId;
      });
      const view = c.view(inArea!);
      await until(() => view.complete && view.position !== undefined);
      assert.equal(locationOf(view.features.get('mobility:bus-2')), home(2), 'the excluded move');
      assert.equal(locationOf(view.features.get('mobility:bus-3')), [26.046, 44.081]);
      assert.equal(view.features, await httpLayer(ctx, info.id));
      assert.is(ctx.h.gateway.stats().scenarioFeeds, 1);
      // Later real events are seen as ever.
      const later = await moveVehicle(ctx.h, 'bus-2', 26.042, 44.072);
      await until(() => view.position === later, 15_000, 'the later real move');
      assert.equal(locationOf(view.features.get('mobility:bus-2')), [26.042, 44.072]);
      for (const subscriptionId of [inArea!, whole!]) {
        assert.ok((await c.socket.emitWithAck('unsubscribe', { subscriptionId })).ok);
      }
      assert.is(ctx.h.gateway.stats().scenarioFeeds, 0);
    } finally {
      c.close();
    }
  },
);

live('a panned scenario map gets the scenario features of the new area', async (ctx) => {
  const id = await fork(ctx);
  const edit = await moveInScenario(ctx, id, 'bus-7', 26.095, 44.095);
  const c = await openConsole(ctx.h, 'planner-all');
  try {
    const ack = await c.subscribe({ city: CITY, layers: ['mobility'], bbox: [...AREA], scenario: id });
    if (!ack.ok) throw new Error(ack.detail);
    const view = c.view(ack.subscriptionId);
    await until(() => view.complete && view.position !== undefined);
    const east = [26.05, 44.0, 26.1, 44.1] as const;
    const panned = await c.socket.emitWithAck('updateArea', {
      subscriptionId: ack.subscriptionId,
      bbox: [...east],
    });
    assert.ok(panned.ok);
    await until(() => view.features.has('mobility:bus-7') && !view.features.has('mobility:bus-0'));
    assert.equal(locationOf(view.features.get('mobility:bus-7')), [26.095, 44.095], 'as in the scenario');
    const res = await request(ctx.app)
      .get(`/api/v1/scenarios/${id}/layers/mobility?bbox=${east.join(',')}&limit=1000`)
      .set(ctx.auth)
      .expect(200);
    assert.equal(
      [...view.features.keys()].sort(),
      (res.body.features as TwinFeature[]).map((f) => `mobility:${f.id}`).sort(),
    );
    assert.ok(BigInt(panned.ok ? panned.position : '0') >= edit);
  } finally {
    c.close();
  }
});

live(
  'an unknown scenario, another city of the scenario, and a key without its city are refused clearly',
  async (ctx) => {
    const id = await fork(ctx);
    const all = await openConsole(ctx.h, 'planner-all');
    const other = await openConsole(ctx.h, 'planner-other');
    const own = await openConsole(ctx.h, 'planner-testville');
    const viewer = await openConsole(ctx.h, 'viewer-all');
    try {
      const unknown = '00000000-0000-4000-8000-000000000000';
      const missing = await all.subscribe({ city: CITY, layers: ['mobility'], scenario: unknown });
      assert.not.ok(missing.ok);
      if (!missing.ok) {
        assert.is(missing.status, 404);
        assert.match(missing.detail, unknown);
      }
      const wrongCity = await all.subscribe({ city: 'elsewhere', layers: ['mobility'], scenario: id });
      assert.not.ok(wrongCity.ok);
      if (!wrongCity.ok) {
        assert.is(wrongCity.status, 400);
        assert.is(wrongCity.issues[0]?.field, 'city');
      }
      // A key of another city learns nothing of the scenario, whether it exists or not.
      for (const scenario of [id, unknown]) {
        const denied = await other.subscribe({ city: 'elsewhere', layers: ['mobility'], scenario });
        assert.not.ok(denied.ok);
        if (!denied.ok) assert.is(denied.status, 403);
      }
      // Reading a scenario is a planner's job, as over HTTP.
      const notPlanner = await viewer.subscribe({ city: CITY, layers: ['mobility'], scenario: id });
      assert.not.ok(notPlanner.ok);
      if (!notPlanner.ok) assert.is(notPlanner.status, 403);
      const allowed = await own.subscribe({ city: CITY, layers: ['mobility'], scenario: id });
      assert.ok(allowed.ok);
      assert.is(ctx.h.gateway.subscriptionCount(), 1);
    } finally {
      all.close();
      other.close();
      own.close();
      viewer.close();
    }
  },
);

live.run();
