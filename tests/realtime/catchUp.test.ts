/**
 * A server restarting on a long history replays it silently (no change batch per event); a console that
 * subscribes meanwhile is answered once the twin has caught up, with the twin's state then and every change
 * after it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Socket as ClientSocket, io as connect } from 'socket.io-client';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryEventStore } from '../../src/eventStore/memory.js';
import type { EventStore, SubscriptionMessage } from '../../src/eventStore/port.js';
import { createClientView } from '../../src/realtime/clientView.js';
import type { ClientToServerEvents, ServerToClientEvents } from '../../src/realtime/contract.js';
import { attachLiveGateway, liveTwinSourceOf } from '../../src/realtime/gateway.js';
import { createGeofenceRegistry } from '../../src/realtime/geofenceRegistry.js';
import { createCityTwin } from '../../src/twin/cityTwin.js';
import { createProjectionRunner } from '../../src/twin/projectionRunner.js';
import {
  appendTo,
  CITY,
  type Harness,
  moveVehicle,
  registerCity,
  registerVehicle,
  TOKENS,
  until,
} from './liveHarness.js';

const catchUp = suite('live: a server catching up');

/** The store, with the first read of every subscription held until `open()` (a history still being read). */
function gatedStore(store: EventStore) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const gated: EventStore = {
    ...store,
    subscribeToAll(options) {
      const subscription = store.subscribeToAll(options);
      const inner = subscription[Symbol.asyncIterator]();
      let first = true;
      return {
        close: () => subscription.close(),
        [Symbol.asyncIterator]: () => ({
          async next(): Promise<IteratorResult<SubscriptionMessage>> {
            if (first) {
              first = false;
              await gate;
            }
            return inner.next();
          },
          return: () => inner.return?.() ?? Promise.resolve({ done: true, value: undefined }),
        }),
      };
    },
  };
  return { store: gated, open };
}

catchUp(
  'answers a subscription once the history is replayed, with the state then and no gap after',
  async () => {
    const memory = createMemoryEventStore();
    const h = { store: memory, append: appendTo(memory) } as unknown as Harness;
    await registerCity(h.append);
    await registerVehicle(h, 'v1', 26.01, 44.01);
    const historyEnd = await moveVehicle(h, 'v1', 26.02, 44.02);

    const { store, open } = gatedStore(memory);
    const runner = createProjectionRunner({ store });
    let batches = 0;
    runner.onChange(() => batches++);
    await runner.start();
    const geofences = createGeofenceRegistry(memory);
    await geofences.start();
    const server = createServer();
    const gateway = attachLiveGateway(server, {
      store: memory,
      twin: liveTwinSourceOf(runner),
      geofences,
      scratchTwin: (city) => createCityTwin(city),
      authenticate: async (token) => TOKENS[token],
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const socket: ClientSocket<ServerToClientEvents, ClientToServerEvents> = connect(`${url}/live`, {
      auth: { token: 'viewer-all' },
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    const view = createClientView();
    socket.on('snapshot', (m) => view.applySnapshot(m));
    socket.on('changes', (m, ack) => {
      view.applyChanges(m);
      ack?.();
    });
    try {
      await new Promise<void>((r) => socket.once('connect', () => r()));
      let acked: { ok: boolean; position?: string } | undefined;
      const pending = socket.emitWithAck('subscribe', { city: CITY, layers: ['mobility'] }).then((a) => {
        acked = a as typeof acked;
        return a;
      });
      // The runner has not read its history: the console is not answered from a twin that is not there yet.
      await new Promise((r) => setTimeout(r, 100));
      assert.is(acked, undefined);
      assert.is(gateway.subscriptionCount(), 0);

      open();
      const ack = await pending;
      assert.ok(ack.ok);
      if (ack.ok) assert.is(ack.position, historyEnd.toString());
      assert.is(batches, 0, 'the history was replayed without a change batch per event');
      await until(() => view.position === historyEnd, 10_000, 'snapshot');
      assert.equal(view.features.get('mobility:v1')?.geometry, {
        type: 'Point',
        coordinates: [26.02, 44.02],
      });

      const live = await moveVehicle(h, 'v1', 26.03, 44.03);
      await until(() => view.position === live, 10_000, 'live change');
      assert.equal(view.features.get('mobility:v1')?.geometry, {
        type: 'Point',
        coordinates: [26.03, 44.03],
      });
      assert.equal(view.gaps, []);
      assert.equal(view.duplicates, []);
    } finally {
      socket.close();
      await gateway.close();
      await new Promise<void>((r) => server.close(() => r()));
      await geofences.close();
      await runner.stop();
      await memory.close();
    }
  },
);

catchUp.run();
