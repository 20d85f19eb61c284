import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { flatChanges } from '../support/flatChanges.js';
import {
  CITY,
  fastAndSlowConsoles,
  moveVehicle,
  openConsole,
  registerVehicle,
  setStatus,
  startHarness,
  twinView,
  until,
} from './liveHarness.js';

const flow = suite('flow control');

flow('coalesces position reports of one entity within the window but never status changes', async () => {
  // A long window, so that reports appended back to back certainly fall into one.
  const h = await startHarness({ coalesceMs: 2_000 });
  const c = await openConsole(h);
  try {
    await registerVehicle(h, 'bus', 26.01, 44.01);
    const ack = await c.subscribe({ city: CITY, layers: ['mobility'] });
    if (!ack.ok) throw new Error(ack.detail);
    const view = c.view(ack.subscriptionId);
    await until(() => view.complete && view.position !== undefined);
    const statuses: bigint[] = [];
    let last = 0n;
    for (let i = 1; i <= 10; i++) last = await moveVehicle(h, 'bus', 26.01 + i * 0.001, 44.01);
    statuses.push(await setStatus(h, 'bus', 'maintenance'));
    for (let i = 11; i <= 20; i++) last = await moveVehicle(h, 'bus', 26.01 + i * 0.001, 44.01);
    statuses.push(await setStatus(h, 'bus', 'in-service'));
    await until(() => view.position === statuses[1], 15_000, 'all delivered');
    const delivered = flatChanges(c.changes);
    const positions = delivered.map((d) => BigInt(d.position));
    for (const s of statuses) assert.ok(positions.includes(s), `status at ${s} was not delivered`);
    const moves = delivered.filter((d) => !statuses.includes(BigInt(d.position)));
    assert.ok(moves.length < 20, `${moves.length} position changes for 20 reports: nothing was coalesced`);
    assert.ok(
      positions.every((p, i) => i === 0 || p > positions[i - 1]!),
      'positions must increase',
    );
    assert.ok(
      moves.some((m) => BigInt(m.position) === last),
      'the last report must be delivered',
    );
    assert.equal(view.features.get('mobility:bus'), twinView(h, ['mobility']).get('mobility:bus'));
    assert.equal(view.gaps, []);
  } finally {
    c.close();
    await h.close();
  }
});

flow(
  'asks for an acknowledgement on every fourth message and on the one that fills the window; one covers those before it',
  async () => {
    // The default window of 8 messages in flight: every 4th asks.
    const h = await startHarness({ coalesceMs: 5 });
    try {
      const head = await registerVehicle(h, 'bus', 26.01, 44.01);
      await h.runner.waitForPosition(head, 10_000);
      const { slow, fv, sv } = await fastAndSlowConsoles(h, head);
      const asked: boolean[] = [];
      slow.socket.on('changes', (_m, ack) => {
        asked.push(ack !== undefined);
      });
      slow.stalled = true;
      let last = head;
      // One status change per message (never coalesced; the fast console's arrival paces them).
      for (let i = 1; i <= 12; i++) {
        last = await setStatus(h, 'bus', i % 2 === 0 ? 'in-service' : 'maintenance');
        await until(() => fv.position === last, 10_000, 'fast console follows');
      }
      await until(() => asked.length >= 8, 10_000, 'eight messages');
      assert.equal(asked, [false, false, false, true, false, false, false, true], 'held at 8 in flight');
      assert.is(slow.pendingAcks.length, 2);

      // The answer to the 4th message covers the first four: room again, and the four changes held meanwhile
      // leave as one message, which need not ask (the 8th's answer is still to come).
      slow.stalled = false;
      slow.pendingAcks.shift()!();
      await until(() => sv.position === last, 10_000, 'caught up');
      assert.equal(asked.slice(8), [false]);
      for (const ack of slow.pendingAcks.splice(0)) ack();
      assert.equal(sv.features, twinView(h, ['mobility']));
      assert.equal([sv.gaps, sv.duplicates, sv.resyncs], [[], [], 0]);
    } finally {
      await h.close();
    }
  },
);

flow(
  'resynchronises a console that stops acknowledging with a snapshot, without holding up another',
  async () => {
    const h = await startHarness({ coalesceMs: 5, maxBuffer: 20, maxInFlight: 1 });
    const slow = await openConsole(h);
    const fast = await openConsole(h);
    try {
      for (let i = 0; i < 40; i++) await registerVehicle(h, `v${i}`, 26.001 + i * 0.002, 44.05);
      const s = await slow.subscribe({ city: CITY, layers: ['mobility'] });
      const f = await fast.subscribe({ city: CITY, layers: ['mobility'] });
      if (!s.ok || !f.ok) throw new Error('subscribe failed');
      await until(
        () => slow.view(s.subscriptionId).complete && slow.view(s.subscriptionId).position !== undefined,
      );
      slow.stalled = true;
      // One message in flight, unacknowledged: the slow console's outbox fills past its bound.
      await setStatus(h, 'v0', 'maintenance');
      await until(() => slow.pendingAcks.length === 1, 10_000, 'one message held');
      let last = 0n;
      for (let i = 0; i < 40; i++) last = await setStatus(h, `v${i}`, 'offline');
      await until(() => fast.view(f.subscriptionId).position === last, 10_000, 'fast console served');
      assert.is(slow.changes.length, 1, 'nothing more is sent while a message is unacknowledged');
      assert.is(slow.snapshots.length, 1);

      slow.stalled = false;
      for (const ack of slow.pendingAcks.splice(0)) ack();
      await until(() => slow.snapshots.length > 1 && slow.view(s.subscriptionId).complete, 10_000, 'resync');
      const resync = slow.snapshots[1]!;
      assert.is(resync.reason, 'resync');
      assert.is(resync.cause, 'slow-consumer');
      assert.is(resync.position, last.toString());
      const view = slow.view(s.subscriptionId);
      assert.is(view.resyncs, 1);
      assert.equal(
        [...view.features.values()].map((x) => x.properties.status),
        [...twinView(h, ['mobility']).values()].map(
          (x) => (x as { properties: { status: string } }).properties.status,
        ),
      );
      assert.equal(fast.view(f.subscriptionId).gaps, []);
    } finally {
      slow.close();
      fast.close();
      await h.close();
    }
  },
);

flow.run();
