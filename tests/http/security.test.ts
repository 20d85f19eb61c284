import request from 'supertest';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryEventStore } from '../../src/eventStore/memory.js';
import type { EventStore } from '../../src/eventStore/port.js';
import { authHeader } from '../support/auth.js';
import { testApp } from './helpers.js';

const ORIGIN = 'https://planner.example.ro';

interface Ctx {
  store: EventStore;
  app: ReturnType<typeof testApp>;
  auth: { Authorization: string };
}
const test = suite<Ctx>('security headers and CORS', {} as Ctx);
test.before(async (ctx) => {
  ctx.store = createMemoryEventStore();
  ctx.app = testApp(ctx.store, { CORS_ORIGINS: `${ORIGIN}, https://other.example.ro` });
  ctx.auth = await authHeader(ctx.store, 'admin');
});
test.after(async (ctx) => {
  await ctx.store.close();
});

test('every response carries the security headers and ids, and no X-Powered-By', async ({ app }) => {
  for (const res of [await request(app).get('/health'), await request(app).get('/api/v1/keys')]) {
    assert.is(res.headers['x-content-type-options'], 'nosniff');
    assert.is(res.headers['x-frame-options'], 'SAMEORIGIN');
    assert.match(String(res.headers['content-security-policy']), /default-src 'none'/);
    assert.ok(res.headers['strict-transport-security']);
    assert.is(res.headers['x-powered-by'], undefined);
    assert.ok(res.headers['x-request-id']);
    assert.ok(res.headers['x-correlation-id']);
  }
});

test('an allowed origin gets a CORS grant with the key headers, never credentials', async ({ app, auth }) => {
  const preflight = await request(app)
    .options('/api/v1/keys')
    .set('Origin', ORIGIN)
    .set('Access-Control-Request-Method', 'GET')
    .set('Access-Control-Request-Headers', 'authorization');
  assert.is(preflight.status, 204);
  assert.is(preflight.headers['access-control-allow-origin'], ORIGIN);
  assert.match(String(preflight.headers['access-control-allow-headers']), /Authorization/);
  // the ingest's own request headers, and the answer's to a Prefer
  for (const header of ['X-Source', 'X-Causation-Id', 'Prefer']) {
    assert.match(String(preflight.headers['access-control-allow-headers']), new RegExp(`\\b${header}\\b`));
  }
  assert.is(preflight.headers['access-control-allow-credentials'], undefined);
  const res = await request(app).get('/api/v1/keys').set('Origin', ORIGIN).set(auth);
  assert.is(res.status, 200);
  assert.is(res.headers['access-control-allow-origin'], ORIGIN);
  assert.match(String(res.headers['access-control-expose-headers']), /\bPreference-Applied\b/);
  assert.match(String(res.headers.vary), /Origin/);
});

test('another origin gets no CORS grant, on a preflight or a request', async ({ app, auth }) => {
  const preflight = await request(app)
    .options('/api/v1/keys')
    .set('Origin', 'https://evil.example')
    .set('Access-Control-Request-Method', 'DELETE');
  assert.is(preflight.headers['access-control-allow-origin'], undefined);
  const res = await request(app).get('/api/v1/keys').set('Origin', 'https://evil.example').set(auth);
  assert.is(res.headers['access-control-allow-origin'], undefined);
});

test('without CORS_ORIGINS no origin is granted', async ({ store, auth }) => {
  const app = testApp(store);
  const res = await request(app).get('/api/v1/keys').set('Origin', ORIGIN).set(auth);
  assert.is(res.headers['access-control-allow-origin'], undefined);
});

test('errors are problem+json without stack, file paths or internals', async ({ app, auth }) => {
  for (const res of [
    await request(app)
      .post('/api/v1/keys')
      .set(auth)
      .set('Content-Type', 'application/json')
      .send('{"role":'),
    await request(app).post('/api/v1/keys').set(auth).send({ role: 'root', cities: '*' }),
    await request(app).get('/api/v1/nothing-here').set(auth),
    await request(app).get('/api/v1/keys'),
  ]) {
    assert.ok(res.status >= 400 && res.status < 500, String(res.status));
    assert.match(String(res.headers['content-type']), /application\/problem\+json/);
    assert.not.match(res.text, /\n\s+at |node_modules|\/work\/|\.ts:\d+/);
  }
});

test.run();
