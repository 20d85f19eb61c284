import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import request from 'supertest';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { generateCity } from '../../seeds/generate.js';
import { keyIdOf } from '../../src/access/apiKeySecret.js';
import { loadConfig } from '../../src/config.js';
import { fixedClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import type { EventStore } from '../../src/eventStore/port.js';
import { createSqliteEventStore } from '../../src/eventStore/sqlite.js';
import { createApp } from '../../src/http/app.js';
import { createTestKey } from '../support/auth.js';

/**
 * Tamper evidence end to end: a real city ingested through HTTP (the write pipeline seals every event) into
 * a real SQLite file; then someone with access to the file edits or deletes a row behind the server's back,
 * and `GET /api/v1/audit/verify` finds exactly that link.
 */
const CITY = 'cluj-napoca';

interface Ctx {
  dir: string;
  file: string;
  store: EventStore;
  app: ReturnType<typeof createApp>;
  operator: string;
  auditor: string;
  streams: { name: string; events: number }[];
}

const test = suite<Ctx>('tampering with the SQLite file', {} as Ctx);

test.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'urban-twin-tamper-'));
  ctx.file = join(ctx.dir, 'events.sqlite');
  ctx.store = createSqliteEventStore(ctx.file);
  const config = loadConfig({ EVENT_STORE: 'sqlite', RATE_LIMIT_PER_MINUTE: '0', MAX_BATCH_SIZE: '1000' });
  ctx.app = createApp({
    config,
    store: ctx.store,
    clock: fixedClock('2026-06-01T00:00:00Z'),
    logger: silentLogger(),
  });
  ctx.operator = await createTestKey(ctx.store, 'operator', [CITY]);
  ctx.auditor = await createTestKey(ctx.store, 'auditor', [CITY]);
  const items = generateCity(CITY, { scale: 0.01 }).map((e) => ({
    id: e.id,
    type: e.type,
    ...(e.entityId ? { entityId: e.entityId } : {}),
    data: e.data,
    occurredAt: e.occurredAt,
  }));
  for (let i = 0; i < items.length; i += 1000) {
    const res = await request(ctx.app)
      .post(`/api/v1/cities/${CITY}/events`)
      .set('Authorization', `Bearer ${ctx.operator}`)
      .set('X-Correlation-Id', `seed-${i}`)
      .send({ events: items.slice(i, i + 1000), source: 'seed-generator', reason: 'initial load' });
    assert.is(res.status, 201, JSON.stringify(res.body).slice(0, 500));
  }
  const db = new Database(ctx.file, { readonly: true });
  ctx.streams = db
    .prepare(
      `SELECT s.name AS name, count(*) AS events FROM events e JOIN streams s ON s.stream_id = e.stream_id
       WHERE (s.name LIKE 'grid-${CITY}.%' OR s.name LIKE 'mobility-${CITY}.%') GROUP BY s.name HAVING count(*) >= 3 ORDER BY s.name LIMIT 4`,
    )
    .all() as { name: string; events: number }[];
  db.close();
  assert.is(ctx.streams.length, 4, 'the seeded city has entities with at least 3 events');
});

test.after(async (ctx) => {
  await ctx.store.close();
  rmSync(ctx.dir, { recursive: true, force: true });
});

function tamper(file: string, sql: string, stream: string, revision: number): number {
  const db = new Database(file);
  const info = db
    .prepare(`${sql} WHERE stream_id = (SELECT stream_id FROM streams WHERE name = ?) AND revision = ?`)
    .run(stream, revision);
  db.close();
  return info.changes;
}

const verify = (ctx: Ctx) =>
  request(ctx.app).get(`/api/v1/audit/verify?city=${CITY}`).set('Authorization', `Bearer ${ctx.auditor}`);

test('the chains the write pipeline sealed verify intact', async (ctx) => {
  const res = await verify(ctx);
  assert.is(res.status, 200);
  assert.is(res.body.ok, true, JSON.stringify(res.body.broken));
  assert.ok(res.body.streamsChecked > 100);
  assert.ok(res.body.eventsChecked >= 500);
});

test("an entity's history shows the operator key as actor, with source, reason and correlation id", async (ctx) => {
  const stream = ctx.streams[0]!.name;
  const id = stream.slice(stream.indexOf('.') + 1);
  const res = await request(ctx.app)
    .get(`/api/v1/audit/entities/${CITY}/${id}`)
    .set('Authorization', `Bearer ${ctx.auditor}`);
  assert.is(res.status, 200);
  const first = res.body.events[0];
  assert.is(first.metadata.actor, keyIdOf(ctx.operator));
  assert.is(first.metadata.source, 'seed-generator');
  assert.is(first.metadata.reason, 'initial load');
  assert.is(first.metadata.correlationId, 'seed-0');
  assert.equal(res.body.actors[keyIdOf(ctx.operator)!], {
    label: 'test operator',
    role: 'operator',
    revoked: false,
  });
  assert.ok(first.patch.length > 0);
});

test('an event whose data was edited in the file is found at its revision', async (ctx) => {
  const stream = ctx.streams[0]!.name;
  const changed = tamper(ctx.file, `UPDATE events SET data = json_set(data, '$.capacityKw', 1)`, stream, 0);
  const edited = tamper(
    ctx.file,
    `UPDATE events SET data = json_set(data, '$.note', 'x')`,
    ctx.streams[1]!.name,
    1,
  );
  assert.is(changed + edited, 2);
  const res = await verify(ctx);
  assert.is(res.body.ok, false);
  assert.equal(
    res.body.broken.map((b: { stream: string; revision: number; problem: string }) => [
      b.stream,
      b.revision,
      b.problem,
    ]),
    [
      [stream, 0, 'hash-mismatch'],
      [ctx.streams[1]!.name, 1, 'hash-mismatch'],
    ],
  );
});

// The tests below tamper cumulatively with distinct streams of the one file (seeding once keeps them quick).
const brokenOf = (
  body: { broken: { stream: string; revision: number; problem: string }[] },
  stream: string,
) => body.broken.find((b) => b.stream === stream);

test('an event deleted from the file is found as a gap at its revision', async (ctx) => {
  const stream = ctx.streams[2]!.name;
  assert.is(tamper(ctx.file, 'DELETE FROM events', stream, 1), 1);
  const res = await verify(ctx);
  assert.is(res.body.ok, false);
  assert.is(res.body.broken.length, 3);
  assert.equal(brokenOf(res.body, stream), {
    ...brokenOf(res.body, stream)!,
    stream,
    revision: 1,
    problem: 'revision-gap',
  });
});

test('a changed actor (metadata) in the file is found as well', async (ctx) => {
  const stream = ctx.streams[3]!.name;
  tamper(ctx.file, `UPDATE events SET metadata = json_set(metadata, '$.actor', 'someone-else')`, stream, 2);
  const res = await verify(ctx);
  assert.is(res.body.broken.length, 4);
  assert.is(brokenOf(res.body, stream)?.revision, 2);
  assert.is(brokenOf(res.body, stream)?.problem, 'hash-mismatch');
});

test.run();
