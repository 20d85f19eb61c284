import { join } from 'node:path';
import type { Express } from 'express';
import request from 'supertest';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createKeyRegistry } from '../../src/access/keyRegistry.js';
import { fixedClock } from '../../src/core/clock.js';
import type { EventStore, RecordedEvent } from '../../src/eventStore/port.js';
import { createSqliteEventStore } from '../../src/eventStore/sqlite.js';
import type { ItemParser } from '../../src/write/parseItems.js';
import { createParseWorkers } from '../../src/write/parseWorkers.js';
import { createWriter } from '../../src/write/writer.js';
import { authHeader } from '../support/auth.js';
import { bucharestRegistered, sector3Footprints, tempDir, testId } from '../write/fixtures.js';
import { testApp } from './helpers.js';

const CITY = 'bucharest';
const url = `/api/v1/cities/${CITY}/events`;

interface Ctx {
  store: EventStore;
  app: Express;
  auth: { Authorization: string };
  cleanup: () => void;
}
/** Real OSM footprints of Sector 3 as BuildingRegistered items. */
function buildings(count: number, offset = 0) {
  return sector3Footprints()
    .slice(offset, offset + count)
    .map((b) => ({
      id: testId(`osm-${b.osmId}`),
      type: 'BuildingRegistered',
      entityId: `osm-way-${b.osmId}`,
      data: {
        footprint: b.footprint,
        use: 'residential',
        yearBuilt: 1978,
        floors: 8,
        grossFloorAreaM2: 3600,
        district: 'sector-3',
      },
    }));
}

async function all(store: EventStore) {
  const events: RecordedEvent[] = [];
  for await (const e of store.readAll()) events.push(e);
  return events;
}

/**
 * The same behaviour whether batches are parsed in process or by the parse workers (split into chunks of
 * one item over two threads here, so every batch crosses threads and errors come back from a worker).
 */
function ingestSuite(mode: string, parser: () => ItemParser | undefined, done?: () => Promise<void>) {
  const ingest = suite<Ctx>(`POST /api/v1/cities/{city}/events (${mode})`);

  ingest.before.each(async (ctx) => {
    // A real SQLite file in a temp dir, removed after each test.
    const tmp = tempDir('urban-twin-ingest-');
    ctx.cleanup = tmp.cleanup;
    ctx.store = createSqliteEventStore(join(tmp.dir, 'events.sqlite'));
    const p = parser();
    ctx.app = testApp(
      ctx.store,
      { MAX_BATCH_SIZE: '50' },
      p
        ? { writer: createWriter({ store: ctx.store, clock: fixedClock('2026-06-01T12:00:00Z'), parser: p }) }
        : {},
    );
    ctx.auth = await authHeader(ctx.store, 'operator', [CITY, 'suceava']);
    const res = await request(ctx.app)
      .post(url)
      .set(ctx.auth)
      .send({ events: [{ ...bucharestRegistered(), id: testId('bucharest') }], source: 'setup' });
    assert.is(res.status, 201, JSON.stringify(res.body));
  });
  ingest.after.each(async (ctx) => {
    await ctx.store.close();
    ctx.cleanup();
  });

  ingest(
    'appends real Sector 3 buildings and answers 201 with stream, revision and position per event',
    async ({ app, store, auth }) => {
      const res = await request(app)
        .post(url)
        .set(auth)
        .set('X-Correlation-Id', 'survey-2026-06')
        .set('X-Source', 'osm-import')
        .send({ events: buildings(20), reason: 'OSM baseline' });
      assert.is(res.status, 201, JSON.stringify(res.body));
      assert.is(res.headers['x-correlation-id'], 'survey-2026-06');
      assert.is(res.headers['content-type'], 'application/json; charset=utf-8');
      assert.is(res.headers['content-length'], String(Buffer.byteLength(res.text)));
      assert.is(res.headers.etag, undefined, 'no ETag over a POST answer');
      assert.is(res.body.appended, 20);
      assert.is(res.body.results.length, 20);
      assert.match(res.body.results[0].stream, /^building-bucharest\.osm-way-\d+$/);
      assert.type(res.body.results[0].position, 'string');
      const stored = (await all(store)).filter((e) => e.type === 'BuildingRegistered');
      assert.is(stored.length, 20);
      assert.equal(
        [
          stored[0]!.metadata.actor,
          stored[0]!.metadata.source,
          stored[0]!.metadata.correlationId,
          stored[0]!.metadata.reason,
        ],
        [stored[0]!.metadata.actor, 'osm-import', 'survey-2026-06', 'OSM baseline'],
      );
    },
  );

  ingest(
    'rejects the whole batch when item 7 is bad, naming index, field and value, and appends nothing',
    async ({ app, store, auth }) => {
      const before = (await all(store)).length;
      const items = buildings(10);
      (items[7]!.data as Record<string, unknown>).yearBuilt = 'nineteen-seventy';
      const res = await request(app).post(url).set(auth).send({ events: items });
      assert.is(res.status, 400);
      assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
      assert.is(res.body.type, '/problems/validation-error');
      assert.equal(res.body.errors[0], {
        index: 7,
        field: 'data.yearBuilt',
        value: 'nineteen-seventy',
        message: res.body.errors[0].message,
      });
      assert.is((await all(store)).length, before);
    },
  );

  ingest(
    'answers 422 naming the district when a building is put in a district the city lacks',
    async ({ app, auth }) => {
      const items = buildings(3);
      (items[2]!.data as Record<string, unknown>).district = 'sector-7';
      const res = await request(app).post(url).set(auth).send({ events: items });
      assert.is(res.status, 422);
      assert.is(res.body.type, '/problems/domain-rule-violated');
      assert.equal(
        [res.body.errors[0].index, res.body.errors[0].field, res.body.errors[0].value],
        [2, 'data.district', 'sector-7'],
      );
    },
  );

  ingest(
    'a retry of the same batch writes nothing twice and answers 200 with the original results',
    async ({ app, store, auth }) => {
      const batch = { events: buildings(5) };
      const first = await request(app).post(url).set(auth).send(batch);
      const count = (await all(store)).length;
      const again = await request(app).post(url).set(auth).send(batch);
      assert.is(again.status, 200);
      assert.is(again.body.appended, 0);
      assert.equal(
        again.body.results.map((r: { position: string }) => r.position),
        first.body.results.map((r: { position: string }) => r.position),
      );
      assert.is((await all(store)).length, count);
    },
  );

  ingest(
    'Prefer: return=minimal answers a summary, and the events are stored as with the full answer',
    async ({ app, store, auth }) => {
      const before = (await all(store)).length;
      const batch = { events: buildings(6, 10) };
      const res = await request(app).post(url).set(auth).set('Prefer', 'return=minimal').send(batch);
      assert.is(res.status, 201, res.text);
      assert.is(res.headers['preference-applied'], 'return=minimal');
      const stored = (await all(store)).slice(before);
      assert.is(stored.length, 6);
      assert.equal(res.body, {
        correlationId: res.headers['x-correlation-id'],
        appended: 6,
        duplicates: 0,
        lastPosition: stored.at(-1)!.position.toString(),
      });
      // A retry: nothing written, the same last position; a partial retry counts its duplicates
      const again = await request(app).post(url).set(auth).set('Prefer', 'return=minimal').send(batch);
      assert.is(again.status, 200);
      assert.equal([again.body.appended, again.body.duplicates], [0, 6]);
      assert.is(again.body.lastPosition, res.body.lastPosition);
      const mixed = await request(app)
        .post(url)
        .set(auth)
        .set('Prefer', 'respond-async, RETURN="minimal"; x=1')
        .send({ events: buildings(8, 10) });
      assert.is(mixed.status, 201, mixed.text);
      assert.equal([mixed.body.appended, mixed.body.duplicates], [2, 6]);
      assert.is(mixed.body.lastPosition, (await all(store)).at(-1)!.position.toString());
      // Without the preference, or with return=representation, the full answer
      const full = await request(app)
        .post(url)
        .set(auth)
        .set('Prefer', 'return=representation')
        .send({ events: buildings(1, 20) });
      assert.is(full.headers['preference-applied'], undefined);
      assert.is(full.body.results.length, 1);
    },
  );

  ingest(
    'answers 413 naming the batch size when a batch exceeds MAX_BATCH_SIZE',
    async ({ app, store, auth }) => {
      const before = (await all(store)).length;
      const res = await request(app)
        .post(url)
        .set(auth)
        .send({ events: buildings(51) });
      assert.is(res.status, 413);
      assert.equal([res.body.errors[0].field, res.body.errors[0].value], ['events', 51]);
      assert.is((await all(store)).length, before);
    },
  );

  ingest('rejects a body with unknown fields or without events', async ({ app, auth }) => {
    const extra = await request(app)
      .post(url)
      .set(auth)
      .send({ events: buildings(1), actor: 'mallory' });
    assert.is(extra.status, 400);
    assert.equal([extra.body.errors[0].field, extra.body.errors[0].value], ['actor', 'mallory']);
    const none = await request(app).post(url).set(auth).send({ events: [] });
    assert.is(none.status, 400);
    assert.is(none.body.errors[0].field, 'events');
    const text = await request(app).post(url).set(auth).set('Content-Type', 'text/plain').send('hello');
    assert.is(text.status, 400);
  });

  ingest('rejects events for a city that was never registered', async ({ app, auth }) => {
    const res = await request(app)
      .post('/api/v1/cities/suceava/events')
      .set(auth)
      .send({ events: [{ type: 'BuildingDemolished', entityId: 'b-1', data: {} }] });
    assert.is(res.status, 422);
    assert.equal([res.body.errors[0].field, res.body.errors[0].value], ['city', 'suceava']);
  });

  ingest('takes the actor from the authenticated key, never from the body', async ({ app, store, auth }) => {
    const principal = await createKeyRegistry(store).authenticate(auth.Authorization.slice('Bearer '.length));
    assert.ok(principal);
    const res = await request(app)
      .post(url)
      .set(auth)
      .send({ events: buildings(1, 40) });
    assert.is(res.status, 201, JSON.stringify(res.body));
    const stored = (await all(store)).at(-1)!;
    assert.is(stored.metadata.actor, principal!.id);
    const forged = await request(app)
      .post(url)
      .set(auth)
      .send({ events: [{ ...buildings(1, 41)[0], actor: 'mallory' }] });
    assert.is(forged.status, 400);
    assert.is(forged.body.errors[0].field, 'actor');
  });

  if (done) ingest.after(done);
  ingest.run();
}

ingestSuite('parsed in process', () => undefined);

const workers = createParseWorkers({ workers: 2, minItems: 1, minChunk: 1 });
ingestSuite(
  'parsed by worker threads',
  () => workers,
  () => workers.close(),
);
