import { io as connect } from 'socket.io-client';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createClientView } from '../../src/realtime/clientView.js';
import type { ChangesMessage, SnapshotMessage, SubscribeAck } from '../../src/realtime/contract.js';
import { square } from '../support/twinFixtures.js';
import {
  CITY,
  fastAndSlowConsoles,
  moveVehicle,
  openConsole,
  point,
  registerVehicle,
  startHarness,
  twinView,
  until,
} from './liveHarness.js';

const fanOut = suite('fan-out by filter group');

const WEST = [26.0, 44.0, 26.05, 44.1] as const;
const EAST = [26.05, 44.0, 26.1, 44.1] as const;

/** A message as every member of a group must see it: all but the subscription id. */
const content = (m: ChangesMessage) =>
  JSON.stringify({ after: m.after, position: m.position, changes: m.changes });

fanOut(
  'consoles with the same filter receive the same changes, each under its own subscription id',
  async () => {
    const h = await startHarness({ coalesceMs: 50 });
    const a = await openConsole(h);
    const b = await openConsole(h);
    const c = await openConsole(h);
    try {
      for (let i = 0; i < 3; i++) {
        await registerVehicle(h, `w${i}`, 26.01 + i * 0.01, 44.05);
        await registerVehicle(h, `e${i}`, 26.06 + i * 0.01, 44.05);
      }
      const head = await registerVehicle(h, 'w3', 26.04, 44.02);
      await h.runner.waitForPosition(head, 10_000);
      const sa = await a.subscribe({ city: CITY, layers: ['mobility'], bbox: [...WEST] });
      const sb = await b.subscribe({ city: CITY, layers: ['mobility'], bbox: [...WEST] });
      const sc = await c.subscribe({ city: CITY, layers: ['mobility'], bbox: [...EAST] });
      if (!sa.ok || !sb.ok || !sc.ok) throw new Error('subscribe failed');
      const views = [a.view(sa.subscriptionId), b.view(sb.subscriptionId), c.view(sc.subscriptionId)];
      await until(() => views.every((v) => v.complete && v.position === head), 10_000, 'snapshots');

      let last = head;
      for (let step = 1; step <= 5; step++) {
        for (let i = 0; i < 3; i++) {
          await moveVehicle(h, `w${i}`, 26.01 + i * 0.01, 44.05 + step * 0.001);
          last = await moveVehicle(h, `e${i}`, 26.06 + i * 0.01, 44.05 + step * 0.001);
        }
      }
      // w0 crosses into the east half: a remove for the west group, an upsert for the east one.
      last = await moveVehicle(h, 'w0', 26.07, 44.03);
      await until(() => views.every((v) => v.position === last), 15_000, 'all delivered');

      assert.equal(a.changes.map(content), b.changes.map(content), 'same filter, same messages');
      const stats = h.gateway.stats();
      assert.is(stats.groups, 2, 'two filters, two groups');
      assert.ok(stats.sharedSends > 0, 'frames went out encoded once');
      assert.ok(a.changes.length > 0);
      assert.ok(a.changes.every((m) => m.subscriptionId === sa.subscriptionId));
      assert.ok(b.changes.every((m) => m.subscriptionId === sb.subscriptionId));
      assert.ok(c.changes.every((m) => m.subscriptionId === sc.subscriptionId));
      assert.equal(views[0]!.features, twinView(h, ['mobility'], WEST));
      assert.equal(views[2]!.features, twinView(h, ['mobility'], EAST));
      assert.ok(views[2]!.features.has('mobility:w0'));
      assert.not.ok(views[0]!.features.has('mobility:w0'));
      for (const v of views) {
        assert.equal(v.gaps, []);
        assert.equal(v.duplicates, []);
      }
    } finally {
      a.close();
      b.close();
      c.close();
      await h.close();
    }
  },
);

fanOut('a map panned while changes wait in the window loses none of them', async () => {
  // A long window: the move below certainly waits in the old area's group when the area changes.
  const h = await startHarness({ coalesceMs: 3_000 });
  const c = await openConsole(h);
  try {
    await registerVehicle(h, 'west', 26.01, 44.05);
    const head = await registerVehicle(h, 'east', 26.09, 44.05);
    await h.runner.waitForPosition(head, 10_000);
    const ack = await c.subscribe({ city: CITY, layers: ['mobility'], bbox: [...WEST] });
    if (!ack.ok) throw new Error(ack.detail);
    const view = c.view(ack.subscriptionId);
    await until(() => view.complete && view.position === head, 10_000, 'snapshot');

    await moveVehicle(h, 'west', 26.02, 44.06);
    const last = await moveVehicle(h, 'east', 26.08, 44.06);
    await h.runner.waitForPosition(last, 10_000);
    const panned = await c.socket.emitWithAck('updateArea', {
      subscriptionId: ack.subscriptionId,
      bbox: null,
    });
    assert.ok(panned.ok);
    await until(() => view.position === last && view.features.size === 2, 15_000, 'delivered');
    assert.equal(view.features, twinView(h, ['mobility']));
    assert.equal(
      (view.features.get('mobility:west')!.geometry as { coordinates: number[] }).coordinates,
      [26.02, 44.06],
    );
    assert.equal(view.gaps, []);
    assert.equal(view.duplicates, []);
  } finally {
    c.close();
    await h.close();
  }
});

fanOut(
  'a console behind on acknowledgements catches up from its own queue without a gap, and keeps following',
  async () => {
    const h = await startHarness({ coalesceMs: 10, maxInFlight: 1 });
    try {
      for (let i = 0; i < 4; i++) await registerVehicle(h, `v${i}`, 26.01 + i * 0.02, 44.05);
      const head = await registerVehicle(h, 'v4', 26.09, 44.09);
      await h.runner.waitForPosition(head, 10_000);
      const { slow, fv, sv } = await fastAndSlowConsoles(h, head);

      slow.stalled = true;
      let last = head;
      for (let step = 1; step <= 20; step++) {
        last = await moveVehicle(h, `v${step % 5}`, 26.01 + (step % 5) * 0.02, 44.05 + step * 0.0005);
        await until(() => fv.position === last, 10_000, 'fast console follows');
      }
      assert.is(slow.changes.length, 1, 'one message in flight, the rest waits');

      slow.stalled = false;
      for (const ack of slow.pendingAcks.splice(0)) ack();
      await until(() => sv.position === last, 10_000, 'slow console catches up');
      const next = await moveVehicle(h, 'v0', 26.015, 44.055);
      await until(() => fv.position === next && sv.position === next, 10_000, 'both follow');
      assert.equal(sv.features, twinView(h, ['mobility']));
      assert.equal(fv.features, twinView(h, ['mobility']));
      assert.is(sv.resyncs, 0);
      for (const v of [fv, sv]) {
        assert.equal(v.gaps, []);
        assert.equal(v.duplicates, []);
      }
    } finally {
      await h.close();
    }
  },
);

/** The northern half of Testville. */
const NORTH = [26.0, 44.05, 26.1, 44.1] as const;

fanOut('a shared frame of more than 64 KiB with non-ASCII text reaches every console intact', async () => {
  // A long window: the 200 moves below leave as one frame (WebSocket 64-bit length, multi-byte UTF-8). Each
  // brings a vehicle into the consoles' area, so each arrives whole (operator name and all), not as a patch.
  const h = await startHarness({ coalesceMs: 5_000 });
  const a = await openConsole(h);
  const b = await openConsole(h);
  try {
    const operator = 'Societatea de Transport București (ȘTB) — linia ';
    let head = 0n;
    for (let i = 0; i < 200; i++) {
      head = await h.append(`mobility-${CITY}.v${i}`, 'MobilityAssetRegistered', {
        kind: 'bus',
        location: point(26.0 + (i % 20) * 0.004, 44.0 + Math.floor(i / 20) * 0.004),
        operator: `${operator}${i}`,
      });
    }
    await h.runner.waitForPosition(head, 10_000);
    const sa = await a.subscribe({ city: CITY, layers: ['mobility'], bbox: [...NORTH] });
    const sb = await b.subscribe({ city: CITY, layers: ['mobility'], bbox: [...NORTH] });
    if (!sa.ok || !sb.ok) throw new Error('subscribe failed');
    const views = [a.view(sa.subscriptionId), b.view(sb.subscriptionId)];
    await until(() => views.every((v) => v.complete && v.position === head), 10_000, 'snapshots');

    let last = head;
    for (let i = 0; i < 200; i++) {
      last = await moveVehicle(h, `v${i}`, 26.001 + (i % 20) * 0.004, 44.051 + Math.floor(i / 20) * 0.004);
    }
    await until(() => views.every((v) => v.position === last), 20_000, 'delivered');
    const largest = Math.max(...a.changes.map((m) => Buffer.byteLength(JSON.stringify(m))));
    assert.ok(largest > 65_536, `largest message ${largest} bytes`);
    assert.ok(h.gateway.stats().sharedSends >= 2);
    assert.equal(a.changes.map(content), b.changes.map(content));
    for (const v of views) {
      assert.is(v.features.size, 200);
      assert.equal(v.features, twinView(h, ['mobility'], NORTH));
      assert.is(v.features.get('mobility:v7')!.properties.operator, `${operator}7`);
      assert.equal(v.gaps, []);
      assert.equal(v.duplicates, []);
    }
  } finally {
    a.close();
    b.close();
    await h.close();
  }
});

fanOut('a long-polling console in a group gets the same frames as its websocket peers', async () => {
  const h = await startHarness({ coalesceMs: 50 });
  const ws = await openConsole(h);
  const polling = connect(`${h.url}/live`, {
    auth: { token: 'viewer-all' },
    transports: ['polling'],
    upgrade: false,
    reconnection: false,
    forceNew: true,
  });
  const pollingView = createClientView();
  const pollingChanges: ChangesMessage[] = [];
  polling.on('snapshot', (m: SnapshotMessage, ack: () => void) => {
    pollingView.applySnapshot(m);
    ack();
  });
  polling.on('changes', (m: ChangesMessage, ack?: () => void) => {
    pollingChanges.push(m);
    pollingView.applyChanges(m);
    ack?.();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      polling.once('connect', () => resolve());
      polling.once('connect_error', reject);
    });
    const head = await registerVehicle(h, 'bus', 26.01, 44.01);
    await h.runner.waitForPosition(head, 10_000);
    const sw = await ws.subscribe({ city: CITY, layers: ['mobility'] });
    const sp = (await polling.emitWithAck('subscribe', { city: CITY, layers: ['mobility'] })) as SubscribeAck;
    if (!sw.ok || !sp.ok) throw new Error('subscribe failed');
    const wsView = ws.view(sw.subscriptionId);
    await until(() => wsView.position === head && pollingView.position === head, 10_000, 'snapshots');
    let last = head;
    for (let i = 1; i <= 10; i++) last = await moveVehicle(h, 'bus', 26.01 + i * 0.001, 44.01);
    await until(() => wsView.position === last && pollingView.position === last, 15_000, 'delivered');
    assert.equal(pollingChanges.map(content), ws.changes.map(content));
    assert.ok(pollingChanges.every((m) => m.subscriptionId === sp.subscriptionId));
    assert.equal(pollingView.features, twinView(h, ['mobility']));
    assert.equal(pollingView.gaps, []);
    assert.equal(pollingView.duplicates, []);
    assert.is(polling.io.engine.transport.name, 'polling');
  } finally {
    polling.close();
    // The long-polling transport keeps a request open until its engine is closed.
    polling.io.engine?.close();
    ws.close();
    // Closing the server before it has read the polling client's close request would leave that request's
    // timers running in this process after the suite: wait until the gateway has let both consoles go.
    await until(() => h.gateway.stats().groups === 0, 10_000, 'both consoles gone').catch(() => {});
    await h.close();
  }
});

fanOut(
  'routes a footprint that straddles an area edge to that area, and keeps groups of other kinds apart',
  async () => {
    const h = await startHarness({ coalesceMs: 20 });
    const c = await openConsole(h);
    try {
      const head = await registerVehicle(h, 'seed', 26.09, 44.09);
      await h.runner.waitForPosition(head, 10_000);
      const sb = await c.subscribe({ city: CITY, layers: ['buildings'], bbox: [...WEST] });
      const ss = await c.subscribe({ city: CITY, layers: ['mobility'], bbox: [...WEST], kinds: ['scooter'] });
      const sbus = await c.subscribe({ city: CITY, layers: ['mobility'], bbox: [...WEST], kinds: ['bus'] });
      if (!sb.ok || !ss.ok || !sbus.ok) throw new Error('subscribe failed');
      const [buildings, scooters, buses] = [sb, ss, sbus].map((a) => c.view(a.subscriptionId));
      await until(() => [buildings, scooters, buses].every((v) => v!.position === head), 10_000, 'snapshots');
      assert.is(h.gateway.stats().groups, 3);

      const building = (id: string, lon: number) =>
        h.append(`building-${CITY}.${id}`, 'BuildingRegistered', {
          footprint: square(lon, 44.05, 0.002),
          use: 'residential',
          yearBuilt: 1975,
          floors: 4,
          grossFloorAreaM2: 1000,
          dwellings: 12,
        });
      // Its centre is east of the area's edge (26.05), its footprint reaches into it.
      await building('edge', 26.0505);
      await building('east', 26.08);
      await registerVehicle(h, 'sc', 26.01, 44.01, 'scooter');
      await registerVehicle(h, 'bu', 26.02, 44.02, 'bus');
      const last = await h.append(`building-${CITY}.edge`, 'BuildingEnergyCertified', {
        energyClass: 'C',
        primaryEnergyKwhPerM2Year: 110,
        heatingSystem: 'gas-boiler',
      });
      await until(() => [buildings, scooters, buses].every((v) => v!.position === last), 15_000, 'delivered');
      assert.equal([...buildings!.features.keys()], ['buildings:edge']);
      assert.is(buildings!.features.get('buildings:edge')!.properties.energyClass, 'C');
      assert.equal([...scooters!.features.keys()], ['mobility:sc']);
      assert.equal([...buses!.features.keys()], ['mobility:bu']);
      for (const v of [buildings, scooters, buses]) {
        assert.equal(v!.gaps, []);
        assert.equal(v!.duplicates, []);
      }
    } finally {
      c.close();
      await h.close();
    }
  },
);

fanOut(
  'consoles of one area share a snapshot at the same position, and one joining later gets the newer state',
  async () => {
    const h = await startHarness({ coalesceMs: 5 });
    const consoles = await Promise.all([openConsole(h), openConsole(h), openConsole(h)]);
    const [a, b, c] = consoles;
    try {
      for (let i = 0; i < 5; i++) await registerVehicle(h, `w${i}`, 26.01 + i * 0.005, 44.02);
      const first = await Promise.all(
        [a!, b!].map((x) => x.subscribe({ city: CITY, layers: ['mobility'], bbox: [...WEST] })),
      );
      const [va, vb] = first.map((ack, i) => {
        if (!ack.ok) throw new Error(ack.detail);
        return [a!, b!][i]!.view(ack.subscriptionId);
      });
      await until(
        () => va!.complete && vb!.complete && va!.position !== undefined && vb!.position !== undefined,
      );
      assert.equal(va!.features, twinView(h, ['mobility'], WEST));
      assert.equal(vb!.features, va!.features);
      // The area changes; a console joining now must not be served the earlier snapshot.
      const moved = await moveVehicle(h, 'w0', 26.011, 44.021);
      await h.runner.waitForPosition(moved, 10_000);
      const late = await c!.subscribe({ city: CITY, layers: ['mobility'], bbox: [...WEST] });
      if (!late.ok) throw new Error(late.detail);
      const vc = c!.view(late.subscriptionId);
      await until(() => vc.complete && vc.position !== undefined);
      assert.is(vc.position, moved);
      assert.equal(vc.features, twinView(h, ['mobility'], WEST));
      assert.equal(
        (vc.features.get('mobility:w0')!.geometry as { coordinates: number[] }).coordinates,
        [26.011, 44.021],
      );
    } finally {
      for (const x of consoles) x.close();
      await h.close();
    }
  },
);

fanOut.run();
