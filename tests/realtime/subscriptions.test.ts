import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { flatChanges } from '../support/flatChanges.js';
import {
  CITY,
  type Harness,
  moveVehicle,
  openConsole,
  registerVehicle,
  startHarness,
  twinView,
  until,
} from './liveHarness.js';

const live = suite<{ h: Harness }>('live subscriptions');

live.before.each(async (ctx) => {
  ctx.h = await startHarness({ coalesceMs: 20 });
});
live.after.each(async (ctx) => {
  await ctx.h.close();
});

live(
  'acks a subscription with its id and position, then sends the snapshot of the area and its changes',
  async ({ h }) => {
    await registerVehicle(h, 'bus-1', 26.01, 44.01);
    await registerVehicle(h, 'bus-2', 26.09, 44.09);
    const head = await registerVehicle(h, 'bus-3', 26.02, 44.02);
    await h.runner.waitForPosition(head, 10_000);
    const c = await openConsole(h);
    try {
      const ack = await c.subscribe({ city: CITY, layers: ['mobility'], bbox: [26.0, 44.0, 26.05, 44.05] });
      assert.ok(ack.ok);
      if (!ack.ok) return;
      assert.is(ack.position, head.toString());
      const view = c.view(ack.subscriptionId);
      await until(() => view.complete && view.position !== undefined, 10_000, 'snapshot');
      assert.equal([...view.features.keys()].sort(), ['mobility:bus-1', 'mobility:bus-3']);

      const moved = await moveVehicle(h, 'bus-1', 26.011, 44.011);
      await until(() => view.position === moved, 10_000, 'change');
      assert.equal(
        (view.features.get('mobility:bus-1')!.geometry as { coordinates: number[] }).coordinates,
        [26.011, 44.011],
      );
      assert.equal(view.gaps, []);
      assert.equal(view.duplicates, []);
    } finally {
      c.close();
    }
  },
);

live(
  'sends an entity that moves into the area as an upsert and one that leaves it as a remove',
  async ({ h }) => {
    await registerVehicle(h, 'in', 26.01, 44.01);
    await registerVehicle(h, 'out', 26.09, 44.09);
    const c = await openConsole(h);
    try {
      const ack = await c.subscribe({ city: CITY, layers: ['mobility'], bbox: [26.0, 44.0, 26.05, 44.05] });
      if (!ack.ok) throw new Error(ack.detail);
      const view = c.view(ack.subscriptionId);
      await until(() => view.complete && view.position !== undefined);
      await moveVehicle(h, 'in', 26.08, 44.08);
      const last = await moveVehicle(h, 'out', 26.03, 44.03);
      await until(() => view.position === last, 10_000, 'changes');
      const ops = c.changes.flatMap((m) => flatChanges(m).map((ch) => `${ch.op} ${ch.id}`));
      assert.equal(ops, ['remove in', 'upsert out']);
      assert.equal([...view.features.keys()], ['mobility:out']);
    } finally {
      c.close();
    }
  },
);

live('keeps several subscriptions on one socket apart and stops one on unsubscribe', async ({ h }) => {
  await registerVehicle(h, 'west', 26.01, 44.05);
  await registerVehicle(h, 'east', 26.09, 44.05);
  const c = await openConsole(h);
  try {
    const a = await c.subscribe({ city: CITY, layers: ['mobility'], bbox: [26.0, 44.0, 26.05, 44.1] });
    const b = await c.subscribe({ city: CITY, layers: ['mobility'], bbox: [26.05, 44.0, 26.1, 44.1] });
    if (!a.ok || !b.ok) throw new Error('subscribe failed');
    assert.is.not(a.subscriptionId, b.subscriptionId);
    await until(() => c.view(a.subscriptionId).complete && c.view(b.subscriptionId).complete);
    assert.equal([...c.view(a.subscriptionId).features.keys()], ['mobility:west']);
    assert.equal([...c.view(b.subscriptionId).features.keys()], ['mobility:east']);

    const off = await c.socket.emitWithAck('unsubscribe', { subscriptionId: a.subscriptionId });
    assert.ok(off.ok);
    await moveVehicle(h, 'west', 26.011, 44.05);
    const last = await moveVehicle(h, 'east', 26.091, 44.05);
    await until(() => c.view(b.subscriptionId).position === last);
    assert.not.ok(c.changes.some((m) => m.subscriptionId === a.subscriptionId && m.changes.length > 0));
    assert.is(h.gateway.subscriptionCount(), 1);
  } finally {
    c.close();
  }
});

live(
  'moves a subscription to a panned area with removes for what left and upserts for what entered',
  async ({ h }) => {
    await registerVehicle(h, 'a', 26.01, 44.01);
    await registerVehicle(h, 'b', 26.04, 44.04);
    const head = await registerVehicle(h, 'c', 26.08, 44.08);
    await h.runner.waitForPosition(head, 10_000);
    const c = await openConsole(h);
    try {
      const ack = await c.subscribe({ city: CITY, layers: ['mobility'], bbox: [26.0, 44.0, 26.05, 44.05] });
      if (!ack.ok) throw new Error(ack.detail);
      const view = c.view(ack.subscriptionId);
      await until(() => view.complete && view.position !== undefined);
      const moved = await c.socket.emitWithAck('updateArea', {
        subscriptionId: ack.subscriptionId,
        bbox: [26.03, 44.03, 26.1, 44.1],
      });
      assert.ok(moved.ok);
      await until(() => c.changes.some((m) => m.changes.length > 0), 10_000, 'delta');
      const delta = c.changes.flatMap((m) => flatChanges(m).map((ch) => `${ch.op} ${ch.id}`)).sort();
      assert.equal(delta, ['remove a', 'upsert c']);
      assert.equal(
        [...view.features.keys()].sort(),
        [...twinView(h, ['mobility'], [26.03, 44.03, 26.1, 44.1]).keys()].sort(),
      );
    } finally {
      c.close();
    }
  },
);

live('refuses a handshake without a valid token', async ({ h }) => {
  try {
    await openConsole(h, 'not-a-key');
    assert.unreachable('connected with a bad token');
  } catch (err) {
    assert.match((err as Error).message, /not valid/);
    assert.is((err as { data?: { status?: number } }).data?.status, 401);
  }
  try {
    await openConsole(h, null);
    assert.unreachable('connected without a token');
  } catch (err) {
    assert.is((err as { data?: { status?: number } }).data?.status, 401);
  }
});

live(
  'refuses a subscription to a city outside the key scope, and a malformed one naming field and value',
  async ({ h }) => {
    const c = await openConsole(h, 'viewer-other');
    try {
      const denied = await c.subscribe({ city: CITY, layers: ['mobility'] });
      assert.not.ok(denied.ok);
      if (!denied.ok) assert.is(denied.status, 403);
      const bad = await c.socket.emitWithAck('subscribe', {
        city: CITY,
        layers: ['trains'],
      } as unknown as Parameters<typeof c.subscribe>[0]);
      assert.not.ok(bad.ok);
      if (!bad.ok) {
        assert.is(bad.status, 400);
        assert.is(bad.issues[0]?.field, 'layers.0');
        assert.is(bad.issues[0]?.value, 'trains');
      }
      const scenario = await c.socket.emitWithAck('subscribe', {
        city: 'elsewhere',
        layers: ['mobility'],
        scenario: 'x',
      });
      // This server serves no scenarios (the scenario feed has its own tests): refused, not ignored.
      assert.not.ok(scenario.ok);
      if (!scenario.ok) assert.is(scenario.status, 503);
    } finally {
      c.close();
    }
  },
);

live.run();
