import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Socket as ClientSocket, io as connect } from 'socket.io-client';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mulberry32 } from '../../seeds/prng.js';
import { createMemoryEventStore } from '../../src/eventStore/memory.js';
import { createClientView } from '../../src/realtime/clientView.js';
import type {
  ChangesMessage,
  ClientToServerEvents,
  ServerToClientEvents,
} from '../../src/realtime/contract.js';
import { attachLiveGateway, type LiveTwinSource } from '../../src/realtime/gateway.js';
import { createGeofenceRegistry } from '../../src/realtime/geofenceRegistry.js';
import type { TwinChangeBatch } from '../../src/twin/changes.js';
import { createCityTwin } from '../../src/twin/cityTwin.js';
import { createTwinRegistry } from '../../src/twin/registry.js';
import { flatChanges } from '../support/flatChanges.js';
import { viewHolding } from '../support/heldView.js';
import { box } from '../support/twinFixtures.js';
import {
  appendTo,
  CITY,
  type Harness,
  moveVehicle,
  openConsole,
  registerVehicle,
  setStatus,
  startHarness,
  TOKENS,
  twinView,
  until,
} from './liveHarness.js';

const AREA = [26.0, 44.0, 26.05, 44.1] as const;

const resume = suite('resume after a reconnect');

resume(
  'a console disconnected at random while events flow ends with no gap, no duplicate and the twin state',
  async () => {
    const h = await startHarness({ coalesceMs: 5, maxInFlight: 2, maxBatch: 7 });
    const random = mulberry32(20260303);
    const view = createClientView();
    const seen = new Set<string>();
    const repeated: string[] = [];
    let socket: ClientSocket<ServerToClientEvents, ClientToServerEvents> | undefined;
    let connecting: Promise<void> | undefined;
    let reconnects = 0;

    const connectAndSubscribe = async () => {
      socket?.close();
      const s: NonNullable<typeof socket> = connect(`${h.url}/live`, {
        auth: { token: 'viewer-all' },
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
      });
      socket = s;
      // One subscription per socket: its messages may arrive in the same tick as the subscribe ack.
      s.on('snapshot', (m, ack) => {
        view.applySnapshot(m);
        ack();
      });
      s.on('changes', (m, ack) => {
        for (const c of flatChanges(m)) {
          const key = `${c.position}:${c.op === 'move' ? 'mobility' : c.layer}:${c.id}`;
          if (seen.has(key)) repeated.push(key);
          seen.add(key);
        }
        view.applyChanges(m);
        ack?.();
      });
      await new Promise<void>((resolve, reject) => {
        s.once('connect', () => resolve());
        s.once('connect_error', reject);
      });
      const since = view.position;
      const ack = await s.emitWithAck('subscribe', {
        city: CITY,
        layers: ['mobility'],
        bbox: [...AREA],
        ...(since !== undefined ? { since: since.toString() } : {}),
      });
      if (!ack.ok) throw new Error(ack.detail);
    };

    try {
      const ids = Array.from({ length: 12 }, (_, i) => `v${i}`);
      for (const id of ids) await registerVehicle(h, id, 26.0 + random() * 0.1, 44.0 + random() * 0.1);
      await connectAndSubscribe();
      // Ten seeded moments in the flow at which the console drops its connection.
      const disconnectAt = new Set(
        Array.from({ length: 10 }, (_, k) => k * 38 + 10 + Math.floor(random() * 30)),
      );
      let last = 0n;
      for (let i = 0; i < 400; i++) {
        const id = ids[Math.floor(random() * ids.length)]!;
        last =
          random() < 0.1
            ? await setStatus(h, id, random() < 0.5 ? 'maintenance' : 'in-service')
            : await moveVehicle(h, id, 26.0 + random() * 0.1, 44.0 + random() * 0.1);
        if (disconnectAt.has(i)) {
          // The previous reconnect may still be subscribing; the next one starts once it is through.
          await connecting;
          reconnects++;
          connecting = connectAndSubscribe().finally(() => {
            connecting = undefined;
          });
        }
        if (i % 25 === 0) await new Promise((r) => setTimeout(r, 5));
      }
      await connecting;
      await until(() => view.position !== undefined && view.position >= last, 20_000, 'console caught up');
      assert.is(reconnects, 10);
      assert.equal(view.gaps, []);
      assert.equal(view.duplicates, []);
      assert.equal(repeated, []);
      assert.is(view.resyncs, 0);
      assert.equal(
        [...view.features.entries()].sort(([a], [b]) => a.localeCompare(b)),
        [...twinView(h, ['mobility'], AREA).entries()].sort(([a], [b]) => a.localeCompare(b)),
      );
    } finally {
      socket?.close();
      await h.close();
    }
  },
);

resume('a gap larger than the bound is answered with a snapshot flagged as a resync', async () => {
  const h = await startHarness({ maxResumeEvents: 5 });
  try {
    await registerVehicle(h, 'v1', 26.01, 44.01);
    const first = await openConsole(h);
    const ack = await first.subscribe({ city: CITY, layers: ['mobility'] });
    if (!ack.ok) throw new Error(ack.detail);
    const view = first.view(ack.subscriptionId);
    await until(() => view.complete && view.position !== undefined);
    const since = view.position!;
    first.close();
    let last = 0n;
    for (let i = 0; i < 8; i++) last = await moveVehicle(h, 'v1', 26.01 + i * 0.001, 44.01);
    await h.runner.waitForPosition(last, 10_000);

    const again = await openConsole(h);
    try {
      const resumed = await again.subscribe({ city: CITY, layers: ['mobility'], since: since.toString() });
      if (!resumed.ok) throw new Error(resumed.detail);
      await until(() => again.snapshots.length > 0);
      assert.is(again.snapshots[0]?.reason, 'resync');
      assert.is(again.snapshots[0]?.cause, 'resume-gap-too-large');
      assert.is(again.snapshots[0]?.position, last.toString());
      assert.is(again.changes.filter((m) => m.changes.length > 0).length, 0);
      const v = again.view(resumed.subscriptionId);
      await until(() => v.complete);
      assert.equal([...v.features.values()], [...twinView(h, ['mobility']).values()]);
    } finally {
      again.close();
    }
  } finally {
    await h.close();
  }
});

resume('a gap within the bound replays exactly the missed changes from the store, in order', async () => {
  const h = await startHarness({ maxResumeEvents: 100 });
  try {
    await registerVehicle(h, 'v1', 26.01, 44.01);
    await registerVehicle(h, 'v2', 26.02, 44.02);
    const first = await openConsole(h);
    const ack = await first.subscribe({ city: CITY, layers: ['mobility'] });
    if (!ack.ok) throw new Error(ack.detail);
    await until(() => first.view(ack.subscriptionId).position !== undefined);
    const since = first.view(ack.subscriptionId).position!;
    first.close();
    const a = await moveVehicle(h, 'v1', 26.011, 44.01);
    const b = await setStatus(h, 'v2', 'maintenance');
    const c = await moveVehicle(h, 'v2', 26.021, 44.02);
    await h.runner.waitForPosition(c, 10_000);

    const again = await openConsole(h);
    try {
      const resumed = await again.subscribe({ city: CITY, layers: ['mobility'], since: since.toString() });
      if (!resumed.ok) throw new Error(resumed.detail);
      assert.is(resumed.position, since.toString());
      await until(() => again.view(resumed.subscriptionId).position === c);
      assert.is(again.snapshots.length, 0);
      assert.is(again.changes[0]?.after, since.toString());
      const got = again.changes.flatMap((m) =>
        flatChanges(m).map((ch) => `${ch.position} ${ch.op} ${ch.id}`),
      );
      // The console held both vehicles: each change is a patch of what it holds (a move for a report).
      assert.equal(got, [`${a} move v1`, `${b} patch v2`, `${c} move v2`]);
      const v2 = flatChanges(again.changes).find((ch) => ch.position === b.toString());
      assert.is(v2?.op === 'patch' && v2.properties?.status, 'maintenance');
      // What the first console held, carried on with what the second one received, is the twin's state.
      const carried = first.view(ack.subscriptionId);
      for (const m of again.changes) carried.applyChanges(m);
      assert.equal(carried.gaps, []);
      assert.equal(carried.duplicates, []);
      assert.equal(carried.features, twinView(h, ['mobility']));
    } finally {
      again.close();
    }
  } finally {
    await h.close();
  }
});

resume(
  'hands over from the replay to the live feed with no duplicate when the twin lags behind the store',
  async () => {
    // A twin fed by hand: it has applied only part of the store when the console resumes, and catches up while
    // the gateway waits for it, so live batches the replay already covered arrive during the handover.
    const store = createMemoryEventStore();
    const twins = createTwinRegistry();
    const listeners = new Set<(b: TwinChangeBatch) => void>();
    const waiters: Array<() => void> = [];
    const twin: LiveTwinSource = {
      get position() {
        return twins.position;
      },
      onChange(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      features: (city, layer) => twins.get(city)?.features(layer),
      async waitForPosition(p) {
        while ((twins.position ?? 0n) < p) await new Promise<void>((r) => waiters.push(r));
      },
    };
    const feed = async (upTo: bigint) => {
      for await (const event of store.readAll({ fromPosition: (twins.position ?? 0n) + 1n })) {
        if (event.position > upTo) break;
        const batch = twins.apply(event);
        if (batch) for (const l of listeners) l(batch);
      }
      for (const w of waiters.splice(0)) w();
    };
    const server = createServer();
    const geofences = createGeofenceRegistry(store);
    await geofences.start();
    const gateway = attachLiveGateway(server, {
      store,
      twin,
      geofences,
      scratchTwin: (city) => createCityTwin(city),
      authenticate: async (token) => TOKENS[token],
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const h = { store, append: appendTo(store) } as unknown as Harness;
    const socket: ClientSocket<ServerToClientEvents, ClientToServerEvents> = connect(`${url}/live`, {
      auth: { token: 'viewer-all' },
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    try {
      await h.append(`city-${CITY}`, 'CityRegistered', {
        name: 'T',
        country: 'RO',
        timezone: 'Europe/Bucharest',
        boundary: box(26, 44, 26.1, 44.1),
        population: 1,
        districts: [],
      });
      const since = await registerVehicle(h, 'v1', 26.01, 44.01);
      await feed(since);
      const held = [...(twins.get(CITY)?.features('mobility') ?? [])].map((feature) => ({
        layer: 'mobility' as const,
        feature,
      }));
      // Status changes: never coalesced, so every position must arrive exactly once.
      const missed = [await setStatus(h, 'v1', 'maintenance'), await setStatus(h, 'v1', 'in-service')];
      const live = await setStatus(h, 'v1', 'offline');
      await feed(missed[0]!);
      // The view already holds v1 as of `since`, as a console that was connected would.
      const view = viewHolding(since, held, 'x');
      const changes: ChangesMessage[] = [];
      socket.on('changes', (m, ack) => {
        changes.push(m);
        view.applyChanges(m);
        ack?.();
      });
      await new Promise<void>((r) => socket.once('connect', () => r()));
      const pending = socket.emitWithAck('subscribe', {
        city: CITY,
        layers: ['mobility'],
        since: since.toString(),
      });
      // Let the gateway read the store (it sees all three moves) and start waiting for the twin.
      await until(() => gateway.subscriptionCount() === 1);
      await new Promise((r) => setTimeout(r, 50));
      await feed(live);
      const ack = await pending;
      assert.ok(ack.ok);
      await until(() => view.position === live, 10_000, 'caught up');
      const positions = changes.flatMap((m) => flatChanges(m).map((c) => c.position));
      assert.equal(positions, [...missed, live].map(String));
      assert.equal(view.gaps, []);
      assert.equal(view.duplicates, []);
    } finally {
      socket.close();
      await gateway.close();
      await new Promise<void>((r) => server.close(() => r()));
      await geofences.close();
      await store.close();
    }
  },
);

resume('refuses a since ahead of the store, naming the field', async () => {
  const h = await startHarness();
  const c = await openConsole(h);
  try {
    const ack = await c.subscribe({ city: CITY, layers: ['mobility'], since: '999999' });
    assert.not.ok(ack.ok);
    if (!ack.ok) {
      assert.is(ack.status, 400);
      assert.is(ack.issues[0]?.field, 'since');
      assert.is(ack.issues[0]?.value, '999999');
    }
    assert.is(h.gateway.subscriptionCount(), 0);
  } finally {
    c.close();
    await h.close();
  }
});

resume.run();
