import request from 'supertest';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { keyIdOf } from '../../src/access/apiKeySecret.js';
import { createMemoryEventStore } from '../../src/eventStore/memory.js';
import type { EventStore } from '../../src/eventStore/port.js';
import { createTestKey } from '../support/auth.js';
import { testApp } from './helpers.js';

interface Ctx {
  store: EventStore;
  app: ReturnType<typeof testApp>;
  admin: string;
}
const test = suite<Ctx>('/api/v1/keys', {} as Ctx);
test.before.each(async (ctx) => {
  ctx.store = createMemoryEventStore();
  ctx.app = testApp(ctx.store, { RATE_LIMIT_PER_MINUTE: '0' });
  ctx.admin = await createTestKey(ctx.store, 'admin', '*');
});
test.after.each(async (ctx) => {
  await ctx.store.close();
});

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

test('an admin creates a key that works at once within its role and scope, shown only in that response', async ({
  app,
  store,
  admin,
}) => {
  const res = await request(app)
    .post('/api/v1/keys')
    .set(bearer(admin))
    .set('X-Correlation-Id', 'onboarding-42')
    .send({ role: 'operator', cities: ['suceava'], label: 'Suceava meters', reason: 'new data feed' });
  assert.is(res.status, 201);
  assert.is(res.headers['cache-control'], 'no-store');
  const { key, keyId, role, cities, createdBy } = res.body;
  assert.is(keyIdOf(key), keyId);
  assert.is(role, 'operator');
  assert.equal(cities, ['suceava']);
  assert.is(createdBy, keyIdOf(admin));
  assert.is((await request(app).get('/api/v1/cities/suceava/kpis').set(bearer(key))).status === 403, false);
  assert.is((await request(app).get('/api/v1/cities/bucharest/kpis').set(bearer(key))).status, 403);
  const [created] = await (async () => {
    const out = [];
    for await (const e of store.readStream(`apikey-${keyId}`)) out.push(e);
    return out;
  })();
  assert.is(created?.metadata.actor, keyIdOf(admin));
  assert.is(created?.metadata.reason, 'new data feed');
  assert.is(created?.metadata.correlationId, 'onboarding-42');
  const list = await request(app).get('/api/v1/keys').set(bearer(admin));
  assert.is(list.status, 200);
  assert.is(list.body.keys.length, 2);
  assert.not.ok(list.text.includes(key.slice(20)));
  assert.not.ok('hash' in list.body.keys[0]);
});

test('a revoked key is refused at once; revoking an unknown key is a 404', async ({ app, store, admin }) => {
  const key = await createTestKey(store, 'viewer', '*');
  assert.is((await request(app).get('/api/v1/cities').set(bearer(key))).status === 401, false);
  const res = await request(app)
    .delete(`/api/v1/keys/${keyIdOf(key)}?reason=rotation`)
    .set(bearer(admin));
  assert.is(res.status, 200);
  assert.ok(res.body.revokedAt);
  assert.is((await request(app).get('/api/v1/cities').set(bearer(key))).status, 401);
  assert.is((await request(app).delete('/api/v1/keys/0123456789abcdef').set(bearer(admin))).status, 404);
});

test('a city-scoped admin may not manage keys, and a bad body is a 400 naming the field', async ({
  app,
  store,
  admin,
}) => {
  const scoped = await createTestKey(store, 'admin', ['bucharest']);
  const denied = await request(app)
    .post('/api/v1/keys')
    .set(bearer(scoped))
    .send({ role: 'admin', cities: '*' });
  assert.is(denied.status, 403);
  for (const [body, field] of [
    [{ role: 'root', cities: '*' }, 'role'],
    [{ role: 'viewer', cities: 'bucharest' }, 'cities'],
    [{ role: 'viewer', cities: '*', hash: 'x' }, 'hash'],
  ] as const) {
    const res = await request(app).post('/api/v1/keys').set(bearer(admin)).send(body);
    assert.is(res.status, 400, JSON.stringify(body));
    assert.is(res.body.errors[0].field, field);
  }
});

test.run();
