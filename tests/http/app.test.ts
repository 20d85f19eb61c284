import express from 'express';
import request from 'supertest';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { z } from 'zod';
import { loadConfig } from '../../src/config.js';
import { DomainRuleError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { EVENT_TYPES } from '../../src/domain/events.js';
import { createMemoryEventStore } from '../../src/eventStore/memory.js';
import type { EventStore } from '../../src/eventStore/port.js';
import { correlationId } from '../../src/http/correlation.js';
import { fieldIssuesFromZod, notFoundHandler, problemHandler } from '../../src/http/problem.js';
import { authHeader } from '../support/auth.js';
import { testApp } from './helpers.js';

const PROBLEM = /^application\/problem\+json/;

const http = suite('HTTP skeleton');

http('answers a route nobody serves with a 404 problem', async () => {
  // Behind the access middleware an unknown route is refused before routing (it reveals nothing), so the
  // 404 handler is exercised on the bare pipeline of ids + routes + problems.
  const app = express();
  app.use(correlationId());
  app.use(notFoundHandler());
  app.use(problemHandler(silentLogger()));
  const res = await request(app).get('/nowhere');
  assert.is(res.status, 404);
  assert.match(res.headers['content-type'] ?? '', PROBLEM);
  assert.equal(Object.keys(res.body).sort(), [
    'correlationId',
    'detail',
    'instance',
    'status',
    'title',
    'type',
  ]);
  assert.is(res.body.instance, '/nowhere');
});

http(
  'returns the caller’s X-Correlation-Id on success and on error, and makes one up when absent',
  async () => {
    const store = createMemoryEventStore();
    const app = testApp(store);
    const ok = await request(app).get('/health').set('X-Correlation-Id', 'trace-42');
    assert.is(ok.headers['x-correlation-id'], 'trace-42');
    const missing = await request(app).get('/nowhere').set('X-Correlation-Id', 'trace-43');
    assert.is(missing.headers['x-correlation-id'], 'trace-43');
    assert.is(missing.body.correlationId, 'trace-43');
    const fresh = await request(app).get('/health');
    assert.match(fresh.headers['x-correlation-id'] ?? '', /^[0-9a-f-]{36}$/);
    const hostile = await request(app).get('/health').set('X-Correlation-Id', 'a b<script>');
    assert.match(hostile.headers['x-correlation-id'] ?? '', /^[0-9a-f-]{36}$/, 'an unsafe id is replaced');
    assert.ok(fresh.headers['x-request-id'], 'a request id is returned too');
    await store.close();
  },
);

http('answers malformed JSON with 400 and an oversize body with 413, as problems', async () => {
  const store = createMemoryEventStore();
  const app = testApp(store, { BODY_LIMIT: '2kb' });
  const auth = await authHeader(store, 'operator', ['cluj-napoca']);
  const url = '/api/v1/cities/cluj-napoca/events';
  const bad = await request(app)
    .post(url)
    .set(auth)
    .set('Content-Type', 'application/json')
    .send('{"events": [');
  assert.is(bad.status, 400);
  assert.match(bad.headers['content-type'] ?? '', PROBLEM);
  assert.is(bad.body.type, '/problems/malformed-json');
  const big = await request(app)
    .post(url)
    .set(auth)
    .send({ events: [{ type: 'BuildingDemolished', entityId: 'b', data: {}, reason: 'x'.repeat(3000) }] });
  assert.is(big.status, 413);
  assert.is(big.body.type, '/problems/payload-too-large');
  await store.close();
});

http('turns an unexpected error into a bare 500 without message, stack or path', async () => {
  const app = express();
  app.use(correlationId());
  app.get('/boom', () => {
    throw new Error('secret at /home/ops/src/thing.ts:12 password=hunter2');
  });
  app.use(problemHandler(silentLogger()));
  const res = await request(app).get('/boom');
  assert.is(res.status, 500);
  assert.match(res.headers['content-type'] ?? '', PROBLEM);
  assert.not.match(res.text, /secret|hunter2|\.ts|at /);
  assert.is(res.body.type, '/problems/internal-error');
});

http('maps an AppError to its status with errors naming index, field and value', async () => {
  const app = express();
  app.get('/rule', () => {
    throw new DomainRuleError('no', [
      { index: 3, field: 'data.kWp', value: -1, message: 'must be positive' },
    ]);
  });
  app.use(problemHandler(silentLogger()));
  const res = await request(app).get('/rule');
  assert.is(res.status, 422);
  assert.equal(res.body.errors, [{ index: 3, field: 'data.kWp', value: -1, message: 'must be positive' }]);
});

http('turns a ZodError into dotted fields with the bad values', () => {
  const schema = z.strictObject({ a: z.object({ b: z.array(z.number()) }) });
  const input = { a: { b: [1, 'two'] }, c: true };
  const result = schema.safeParse(input);
  assert.not.ok(result.success);
  const issues = fieldIssuesFromZod(result.error!, { input, index: 4 });
  const byField = Object.fromEntries(issues.map((i) => [i.field, i]));
  assert.is(byField['a.b.1']?.value, 'two');
  assert.is(byField['a.b.1']?.index, 4);
  assert.is(byField.c?.value, true);
});

http('GET /ready reports each named check and answers 503 when one fails', async () => {
  const store = createMemoryEventStore();
  let caughtUp = false;
  const app = testApp(store, {}, { readiness: [{ name: 'twin-caught-up', check: () => caughtUp }] });
  const notYet = await request(app).get('/ready');
  assert.is(notYet.status, 503);
  assert.match(notYet.headers['content-type'] ?? '', PROBLEM);
  assert.equal(
    notYet.body.checks.map((c: { name: string; ready: boolean }) => [c.name, c.ready]),
    [
      ['event-store', true],
      ['twin-caught-up', false],
    ],
  );
  caughtUp = true;
  assert.is((await request(app).get('/ready')).status, 200);
  assert.is((await request(app).get('/health')).status, 200);
  await store.close();
  assert.is((await request(app).get('/ready')).status, 503, 'a closed store is not ready');
});
http.run();

const openapi = suite('OpenAPI');
openapi('serves an OpenAPI 3.1 document with every event type and the ingest path', async () => {
  const store: EventStore = createMemoryEventStore();
  const res = await request(testApp(store)).get('/api/v1/openapi.json');
  assert.is(res.status, 200);
  const doc = res.body;
  assert.is(doc.openapi, '3.1.0');
  const schemas = doc.components.schemas as Record<string, unknown>;
  for (const type of EVENT_TYPES) {
    assert.ok(schemas[type], `component ${type}`);
    assert.ok(schemas[`${type}Item`], `component ${type}Item`);
  }
  assert.is((schemas.IngestItem as { oneOf: unknown[] }).oneOf.length, EVENT_TYPES.length);
  assert.ok(doc.paths['/api/v1/cities/{city}/events'].post);
  assert.ok(doc.paths['/health'].get);
  // every $ref resolves
  const refs = JSON.stringify(doc).match(/"#\/components\/schemas\/[^"]+"/g) ?? [];
  for (const ref of refs) assert.ok(schemas[ref.slice(22, -1)], `unresolved ${ref}`);
  await store.close();
});
openapi('describes an event type with its real constraints (JSON Schema from zod)', async () => {
  const store: EventStore = createMemoryEventStore();
  const doc = (await request(testApp(store)).get('/api/v1/openapi.json')).body;
  const registered = doc.components.schemas.BuildingRegistered;
  assert.is(registered.additionalProperties, false);
  assert.ok(registered.required.includes('footprint'));
  assert.equal(registered.properties.floors.minimum, 1);
  await store.close();
});
openapi.run();

const config = suite('configuration');
config('defaults to SQLite under ./data on port 3000 with batches of 5,000', () => {
  const c = loadConfig({});
  assert.equal(
    [c.EVENT_STORE, c.DATA_DIR, c.PORT, c.MAX_BATCH_SIZE, c.SEED],
    ['sqlite', './data', 3000, 5000, true],
  );
});
config('names every bad variable and its value', () => {
  try {
    loadConfig({ PORT: 'eighty', EVENT_STORE: 'mongo', SEED: 'maybe' });
    assert.unreachable();
  } catch (err) {
    const message = (err as Error).message;
    assert.match(message, /PORT="eighty"/);
    assert.match(message, /EVENT_STORE="mongo"/);
    assert.match(message, /SEED="maybe"/);
  }
});
config('requires EVENTSTORE_URL when EVENT_STORE=esdb', () => {
  assert.throws(() => loadConfig({ EVENT_STORE: 'esdb' }), /EVENTSTORE_URL=\(unset\)/);
  assert.throws(() => loadConfig({ EVENT_STORE: 'esdb', PORT: 'x' }), /PORT="x".*EVENTSTORE_URL=\(unset\)/);
  assert.is(
    loadConfig({ EVENT_STORE: 'esdb', EVENTSTORE_URL: 'esdb://localhost:2113?tls=false' }).EVENT_STORE,
    'esdb',
  );
});
config('treats empty variables as unset', () => {
  assert.is(loadConfig({ PORT: '', LOG_LEVEL: ' ' }).PORT, 3000);
});
config.run();
