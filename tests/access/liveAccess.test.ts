import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { io as connect, type Socket } from 'socket.io-client';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createKeyRegistry, type KeyRegistry } from '../../src/access/keyRegistry.js';
import { disconnectRevokedKeys } from '../../src/access/liveRevocation.js';
import { type CityScope, ROLES } from '../../src/access/roles.js';
import { createMemoryEventStore } from '../../src/eventStore/memory.js';
import type { EventStore } from '../../src/eventStore/port.js';
import type { SubscribeAck } from '../../src/realtime/contract.js';
import { attachLiveGateway, type LiveGateway, liveTwinSourceOf } from '../../src/realtime/gateway.js';
import { createGeofenceRegistry, type GeofenceRegistry } from '../../src/realtime/geofenceRegistry.js';
import { createCityTwin } from '../../src/twin/cityTwin.js';
import { createProjectionRunner, type ProjectionRunner } from '../../src/twin/projectionRunner.js';

/**
 * The access matrix of the live gateway (/live): the handshake with real API keys from the key registry,
 * then a subscription per role x city scope. Every role may read the live twin of its own cities (all
 * roles include viewer); nobody may read another city's; no key, a bad key or a revoked key cannot connect.
 */
const TARGET = 'cluj-napoca';
const SCOPES: Record<string, CityScope> = { all: '*', target: [TARGET], other: ['suceava'] };

interface Ctx {
  store: EventStore;
  keys: KeyRegistry;
  runner: ProjectionRunner;
  geofences: GeofenceRegistry;
  gateway: LiveGateway;
  server: HttpServer;
  url: string;
  key: Record<string, string>;
  revoked: string;
}

const test = suite<Ctx>('live gateway access', {} as Ctx);

test.before(async (ctx) => {
  ctx.store = createMemoryEventStore();
  ctx.keys = createKeyRegistry(ctx.store);
  await ctx.keys.start();
  ctx.key = {};
  const by = { actor: 'test-setup', source: 'test' };
  for (const role of ROLES) {
    for (const [scope, cities] of Object.entries(SCOPES)) {
      ctx.key[`${role}/${scope}`] = (await ctx.keys.create({ role, cities }, by)).key;
    }
  }
  const revoked = await ctx.keys.create({ role: 'admin', cities: '*' }, by);
  await ctx.keys.revoke(revoked.record.keyId, by);
  ctx.revoked = revoked.key;
  ctx.runner = createProjectionRunner({ store: ctx.store });
  await ctx.runner.start();
  ctx.geofences = createGeofenceRegistry(ctx.store);
  await ctx.geofences.start();
  ctx.server = createServer();
  ctx.gateway = attachLiveGateway(ctx.server, {
    store: ctx.store,
    twin: liveTwinSourceOf(ctx.runner),
    geofences: ctx.geofences,
    scratchTwin: (city) => createCityTwin(city),
    authenticate: (token) => ctx.keys.authenticate(token),
  });
  disconnectRevokedKeys(ctx.keys, ctx.gateway.io.of('/live'));
  await new Promise<void>((resolve) => ctx.server.listen(0, '127.0.0.1', resolve));
  ctx.url = `http://127.0.0.1:${(ctx.server.address() as AddressInfo).port}/live`;
});

test.after(async (ctx) => {
  await ctx.gateway.close();
  await new Promise<void>((resolve) => ctx.server.close(() => resolve()));
  await ctx.geofences.close();
  await ctx.runner.stop();
  await ctx.keys.close();
  await ctx.store.close();
});

/** Connects with a token; resolves with the socket, or with the connect error's message. */
function open(url: string, token: string | undefined): Promise<{ socket: Socket; error?: string }> {
  const socket = connect(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    ...(token === undefined ? {} : { auth: { token } }),
  });
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ socket }));
    socket.once('connect_error', (err) => resolve({ socket, error: err.message }));
  });
}

function subscribe(socket: Socket, city: string): Promise<SubscribeAck> {
  return new Promise((resolve) => socket.emit('subscribe', { city, layers: ['buildings'] }, resolve));
}

test('no key, a bad key or a revoked key cannot open a live connection', async (ctx) => {
  for (const token of [
    undefined,
    'ut_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    ctx.revoked,
  ]) {
    const { socket, error } = await open(ctx.url, token);
    socket.close();
    assert.ok(error, `connected with ${String(token).slice(0, 12)}`);
  }
});

test('every role subscribes to the live twin of its own cities and of no other', async (ctx) => {
  const failures: string[] = [];
  for (const role of ROLES) {
    for (const scope of Object.keys(SCOPES)) {
      const { socket, error } = await open(ctx.url, ctx.key[`${role}/${scope}`]);
      if (error) {
        failures.push(`${role}/${scope}: connect failed (${error})`);
        socket.close();
        continue;
      }
      const ack = await subscribe(socket, TARGET);
      const expected = scope !== 'other';
      if (ack.ok !== expected) failures.push(`${role}/${scope}: ${JSON.stringify(ack)}`);
      if (!ack.ok && ack.status !== 403)
        failures.push(`${role}/${scope}: refused with ${ack.status}, not 403`);
      const elsewhere = await subscribe(socket, 'atlantis');
      if (elsewhere.ok !== (scope === 'all'))
        failures.push(`${role}/${scope} atlantis: ${JSON.stringify(elsewhere)}`);
      socket.close();
    }
  }
  assert.equal(failures, []);
});

test('a key revoked while connected loses its live connection at once', async (ctx) => {
  const { key, record } = await ctx.keys.create(
    { role: 'viewer', cities: [TARGET] },
    { actor: 't', source: 'test' },
  );
  const { socket, error } = await open(ctx.url, key);
  assert.is(error, undefined);
  assert.ok((await subscribe(socket, TARGET)).ok);
  const dropped = new Promise<string>((resolve) => socket.once('disconnect', (reason) => resolve(reason)));
  await ctx.keys.revoke(record.keyId, { actor: 't', source: 'test' });
  assert.is(await dropped, 'io server disconnect');
  socket.close();
});

test.run();
