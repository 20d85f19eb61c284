import type { Server } from 'node:http';
import request from 'supertest';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createRng, type Rng } from '../../seeds/prng.js';
import { createMemoryEventStore } from '../../src/eventStore/memory.js';
import type { EventStore } from '../../src/eventStore/port.js';
import type { TwinEvent } from '../../src/twin/cityTwin.js';
import { createTwinRegistry } from '../../src/twin/registry.js';
import { authHeader } from '../support/auth.js';
import { buildingRegistered, footprintAt, SQUARE, squareCityRegistered, testId } from '../write/fixtures.js';
import { testApp } from './helpers.js';

/**
 * Hostile input: at least 1,000 generated malformed or malicious requests (seeded, so every run sends the
 * same ones) against the write and query routes. Every one must get a 4xx problem+json without internals,
 * nothing may be appended, no prototype may be polluted, and the server must still answer afterwards.
 */
const CITY = 'testville';
const INGEST = `/api/v1/cities/${CITY}/events`;
const BODY_LIMIT = 64 * 1024;
const MAX_BATCH = 50;

interface Hostile {
  what: string;
  method: 'get' | 'post';
  path: string;
  /** A JSON value to send, or raw text (`raw`) with a content type. */
  body?: unknown;
  raw?: string;
  contentType?: string;
}

// ---- building blocks -----------------------------------------------------------------------------------

const JUNK_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\uffff\ufffe',
  '💥🏚️',
  '\u202e\u202d',
  'a'.repeat(5_000),
  '../../etc/passwd',
  '<script>alert(1)</script>',
  "'; DROP TABLE events; --",
  '%00',
  '__proto__',
  'constructor',
  'NaN',
  'Infinity',
  '-Infinity',
  '1e309',
];
const JUNK_NUMBERS = [Number.MAX_VALUE, -Number.MAX_VALUE, 1e308, -1, -1e-300, 2 ** 53 + 1, 0.5];
/** Values that are of the wrong type for any field of the event schemas. */
const WRONG_TYPES: unknown[] = [null, true, [], {}, [[1, 2]], { $gt: '' }, ...JUNK_STRINGS.slice(0, 6)];

function nest(depth: number, leaf: unknown = 1): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}
function nestArrays(depth: number): unknown {
  let v: unknown = [26.1, 44.45];
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** Polygons that must never pass: unclosed, self-intersecting, degenerate, out of range, wrong shape. */
function badPolygon(rng: Rng): unknown {
  const [x, y] = [rng.float(26.02, 26.18), rng.float(44.42, 44.48)];
  const d = 0.0003;
  const options: unknown[] = [
    {
      type: 'Polygon',
      coordinates: [
        [
          [x, y],
          [x + d, y],
          [x + d, y + d],
          [x, y + d],
        ],
      ],
    },
    {
      type: 'Polygon',
      coordinates: [
        [
          [x, y],
          [x + d, y + d],
          [x + d, y],
          [x, y + d],
          [x, y],
        ],
      ],
    },
    {
      type: 'Polygon',
      coordinates: [
        [
          [x, y],
          [x + d, y],
          [x, y],
        ],
      ],
    },
    { type: 'Polygon', coordinates: [] },
    { type: 'Polygon', coordinates: [[]] },
    {
      type: 'Polygon',
      coordinates: [
        [
          ['NaN', 'NaN'],
          [x, y],
          [x + d, y],
          ['NaN', 'NaN'],
        ],
      ],
    },
    {
      type: 'Polygon',
      coordinates: [
        [
          ['Infinity', y],
          [x + d, y],
          [x + d, y + d],
          ['Infinity', y],
        ],
      ],
    },
    {
      type: 'Polygon',
      coordinates: [
        [
          [191.2, y],
          [x + d, y],
          [x + d, y + d],
          [191.2, y],
        ],
      ],
    },
    {
      type: 'Polygon',
      coordinates: [
        [
          [x, -91],
          [x + d, y],
          [x + d, y + d],
          [x, -91],
        ],
      ],
    },
    {
      type: 'Polygon',
      coordinates: [
        [
          [1e308, 1e308],
          [x + d, y],
          [x + d, y + d],
          [1e308, 1e308],
        ],
      ],
    },
    {
      type: 'Polygon',
      coordinates: [
        [
          [x, y, 1, 2, 3],
          [x + d, y],
          [x + d, y + d],
          [x, y, 1, 2, 3],
        ],
      ],
    },
    { type: 'Polygon', coordinates: nestArrays(rng.int(4, 200)) },
    { type: 'Point', coordinates: [x, y] },
    {
      type: 'Polygon',
      coordinates: [
        [
          [x, y],
          [x + d, y],
          [x + d, y + d],
          [x, y],
        ],
      ],
      extra: 1,
    },
    { type: 'Polygon' },
    { coordinates: footprintAt(x, y).coordinates },
    // far outside the city: well-formed, but the domain rules must refuse it
    footprintAt(2.35, 48.85),
  ];
  return rng.pick(options);
}

function validBuilding(rng: Rng, n: number) {
  const b = buildingRegistered(`fz-${n}`, rng.float(26.02, 26.18), rng.float(44.42, 44.48));
  return { ...b, id: testId(`fuzz-${n}`) };
}

/** One item that is wrong in a way that no schema or rule may accept. */
function badItem(rng: Rng, n: number): unknown {
  const base = validBuilding(rng, n) as Record<string, unknown> & { data: Record<string, unknown> };
  const field = rng.pick(['floors', 'yearBuilt', 'grossFloorAreaM2', 'use', 'district', 'heightM']);
  const mutations: (() => unknown)[] = [
    () => rng.pick([null, 1, 'x', [], true]),
    () => ({
      ...base,
      type: rng.pick([42, '', 'BuildingExploded', 'constructor', '__proto__', 'toString', null]),
    }),
    () => ({
      ...base,
      entityId: rng.pick([{}, '../x', 'a/b', '', 'é'.repeat(3), 'x'.repeat(300), '\u0000']),
    }),
    () => ({ ...base, id: rng.pick(['not-a-uuid', 123, '00000000-0000-0000-0000', {}]) }),
    () => ({ ...base, occurredAt: rng.pick(['yesterday', 1234, '2026-13-45T00:00:00Z', '', 'NaN']) }),
    () => ({ ...base, data: rng.pick([null, 'data', [], 7]) }),
    () => {
      const { data: _dropped, ...rest } = base;
      return rest;
    },
    () => ({ ...base, data: { ...base.data, [rng.pick(['hacker', 'admin', 'actor', 'isAdmin'])]: true } }),
    () => ({ ...base, data: { ...base.data, [field]: rng.pick(WRONG_TYPES) } }),
    () => ({
      ...base,
      data: { ...base.data, floors: rng.pick([...JUNK_NUMBERS.slice(0, 5), 1.5, 0, 10_000]) },
    }),
    () => ({
      ...base,
      data: { ...base.data, grossFloorAreaM2: rng.pick(['NaN', 'Infinity', -5, 0, 1e308]) },
    }),
    () => ({ ...base, data: { ...base.data, footprint: badPolygon(rng) } }),
    () => ({ ...base, data: { ...base.data, footprint: nest(rng.int(10, 2_000)) } }),
    () => ({ ...base, data: nest(rng.int(10, 2_000)) }),
    () => ({ ...base, actor: 'mallory' }),
    () => ({ ...base, metadata: { actor: 'mallory' } }),
    () => ({ ...base, data: { ...base.data, district: rng.pick(JUNK_STRINGS) } }),
    () => ({ ...base, data: { ...base.data, name: 'n'.repeat(501) } }),
    () => ({ type: 'BuildingDemolished', entityId: `never-registered-${n}`, data: {} }),
    () => ({
      type: 'BuildingRetrofitted',
      entityId: `ghost-${n}`,
      data: { measures: ['windows'], expectedSavingsPercent: 10 },
    }),
    () => ({
      type: 'MobilityAssetRegistered',
      entityId: `m-${n}`,
      data: {
        kind: 'bus',
        location: { type: 'Point', coordinates: rng.pick([['NaN', 1], [181, 0], [0, 91], [], [1]]) },
        operator: 'x',
      },
    }),
    () => ({
      type: 'GridLinkAdded',
      entityId: `l-${n}`,
      data: {
        network: 'electricity',
        from: 'nope',
        to: 'nada',
        route: {
          type: 'LineString',
          coordinates: [
            [26.1, 44.45],
            [26.11, 44.46],
          ],
        },
        capacityKw: 5,
      },
    }),
  ];
  return rng.pick(mutations)();
}

/** Raw bodies: broken JSON, prototype pollution, wrong roots. */
function rawIngest(rng: Rng, n: number): Hostile {
  const valid = JSON.stringify(validBuilding(rng, n));
  const raws = [
    '{"events": [',
    `{"events": [${valid},]}`,
    "{'events': []}",
    '{"events": [NaN]}',
    '{"events": [Infinity]}',
    `{"events": [${valid}], "events": 5}`,
    `{"__proto__": {"polluted": "yes"}, "events": [${valid}]}`,
    `{"constructor": {"prototype": {"polluted": "yes"}}, "events": [${valid}]}`,
    `{"events": [${valid.replace('"data":{', '"data":{"__proto__":{"polluted":"yes"},')}]}`,
    `{"events": [${valid.replace('"data":{', '"data":{"constructor":{"prototype":{"polluted":"yes"}},')}]}`,
    'null',
    '[]',
    '42',
    '"events"',
    'true',
    '',
    '\u0000\u0001\u0002',
    '{"events": "\\ud800"}',
  ];
  return {
    what: 'raw ingest body',
    method: 'post',
    path: INGEST,
    raw: rng.pick(raws),
    contentType: 'application/json',
  };
}

function ingestCase(rng: Rng, n: number): Hostile {
  const roll = rng.next();
  if (roll < 0.12) return rawIngest(rng, n);
  if (roll < 0.16) {
    return {
      what: 'oversize body',
      method: 'post',
      path: INGEST,
      body: { events: [{ ...validBuilding(rng, n), reason: 'r'.repeat(BODY_LIMIT + rng.int(1, 50_000)) }] },
    };
  }
  if (roll < 0.19) {
    const events = Array.from({ length: MAX_BATCH + rng.int(1, 20) }, (_, i) =>
      validBuilding(rng, n * 1_000 + i),
    );
    return { what: 'batch above the limit', method: 'post', path: INGEST, body: { events } };
  }
  if (roll < 0.22) {
    return {
      what: 'valid JSON as text/plain',
      method: 'post',
      path: INGEST,
      raw: JSON.stringify({ events: [validBuilding(rng, n)] }),
      contentType: rng.pick(['text/plain', 'application/x-www-form-urlencoded', 'application/xml']),
    };
  }
  if (roll < 0.3) {
    return {
      what: 'wrong body shape',
      method: 'post',
      path: INGEST,
      body: rng.pick([
        {},
        { events: null },
        { events: 'x' },
        { events: {} },
        { events: [] },
        { events: [validBuilding(rng, n)], extra: 1 },
        { events: [validBuilding(rng, n)], actor: 'mallory' },
      ]),
    };
  }
  // A batch of valid items with one (or a few) hostile ones at random places: all or nothing.
  const size = rng.int(1, 12);
  const events: unknown[] = Array.from({ length: size }, (_, i) => validBuilding(rng, n * 100 + i));
  const bad = rng.int(1, 3);
  for (let i = 0; i < bad; i++) events.splice(rng.int(0, events.length), 0, badItem(rng, n * 100 + 50 + i));
  return { what: 'batch with hostile items', method: 'post', path: INGEST, body: { events } };
}

function queryCase(rng: Rng): Hostile {
  const layer = rng.pick(['buildings', 'mobility', 'grid']);
  const base = `/api/v1/cities/${CITY}/layers/${layer}`;
  const enc = encodeURIComponent;
  const gets = [
    () =>
      `/api/v1/cities/${CITY}/layers/${enc(rng.pick(['roads', '__proto__', '', '..', 'x'.repeat(300)]))}x`,
    () =>
      `${base}?bbox=${enc(rng.pick(['a,b,c,d', '1,2,3', 'NaN,NaN,NaN,NaN', '1e400,0,0,0', 'Infinity,0,1,1', '26.2,44.5,26.0,44.4', '-200,0,0,0', '1,2,3,4,5']))}`,
    () =>
      `${base}?near=${enc(rng.pick(['x,y', 'NaN,NaN', '26.1', '200,100', '26.1,44.4,1']))}&radius=${enc(rng.pick(['-5', 'NaN', '1e20', 'abc', '']))}`,
    () => `${base}?near=26.1,44.45&radius=${enc(rng.pick(['-1', 'Infinity', '1e400', 'ten', '1,2']))}`,
    () => `${base}?limit=${enc(rng.pick(['-1', '0', '1e9', 'abc', '1.5', '99999999999999999999']))}`,
    () => `${base}?cursor=${enc(rng.pick(['%%%', '\u0000', 'x'.repeat(5_000), '-1']))}`,
    () => `${base}?at=${enc(rng.pick(['not-a-date', '2026-13-01T00:00:00Z', '1e10', 'Infinity']))}`,
    () => `${base}?position=${enc(rng.pick(['-1', '1e3', '99999999999999999999999', 'abc', '1.5']))}`,
    () => `${base}?${enc(rng.pick(['__proto__', 'constructor', 'bogus', 'prototype']))}=1`,
    () => `${base}?bbox=1,2,3,4&bbox=5,6,7,8`,
    () => `/api/v1/cities/${CITY}/entities/${enc(rng.pick(['\u0000', 'x'.repeat(400), '💥', '..', 'a b']))}`,
    () =>
      `/api/v1/cities/${enc(rng.pick(['TESTVILLE', 'test ville', '../etc', 'x'.repeat(100), '💥']))}/kpis`,
    () => `/api/v1/cities/${CITY}/kpis?at=${enc(rng.pick(['yesterday', '2026-02-30T00:00:00Z', '']))}x`,
    () =>
      `/api/v1/audit/events?${enc(rng.pick(['limit', 'cursor', 'recordedFrom', 'city', 'bogus']))}=${enc(rng.pick(['-1', 'x', '1e999', '\u0000', '💥']))}`,
    () => `/api/v1/audit/entities/${CITY}/${enc(rng.pick(['\u0000', '💥', 'x'.repeat(300)]))}`,
  ];
  if (rng.chance(0.75)) return { what: 'query', method: 'get', path: rng.pick(gets)() };
  return {
    what: 'within query',
    method: 'post',
    path: base,
    body: rng.pick([
      { within: badPolygon(rng) },
      { within: 'polygon' },
      { within: nest(rng.int(10, 2_000)) },
      { within: SQUARE, extra: true },
      [],
      { within: { type: 'MultiPolygon', coordinates: [[[[0, 0]]]] } },
    ]),
  };
}

// ---- the test ------------------------------------------------------------------------------------------

interface Ctx {
  store: EventStore;
  server: Server;
  operator: { Authorization: string };
  admin: { Authorization: string };
}

const fuzz = suite<Ctx>('hostile input', {} as Ctx);

fuzz.before(async (ctx) => {
  ctx.store = createMemoryEventStore();
  const twins = createTwinRegistry();
  const app = testApp(
    ctx.store,
    { BODY_LIMIT: String(BODY_LIMIT), MAX_BATCH_SIZE: String(MAX_BATCH), RATE_LIMIT_PER_MINUTE: '0' },
    { twins },
  );
  ctx.server = app.listen(0);
  ctx.operator = await authHeader(ctx.store, 'operator', [CITY]);
  ctx.admin = await authHeader(ctx.store, 'admin', '*');
  const setup = await request(ctx.server)
    .post(INGEST)
    .set(ctx.operator)
    .send({
      events: [
        { ...squareCityRegistered, id: testId('fuzz-city') },
        { ...buildingRegistered('b-1'), id: testId('fuzz-b1') },
      ],
    });
  assert.is(setup.status, 201, JSON.stringify(setup.body));
  for await (const e of ctx.store.readAll())
    twins.apply(e as unknown as TwinEvent & { id: string; position: bigint });
});

fuzz.after(async (ctx) => {
  await new Promise<void>((resolve) => ctx.server.close(() => resolve()));
  await ctx.store.close();
});

/** The seeded hostile requests, always the same ones (case n of a failure report is `hostileCases()[n]`). */
export function hostileCases(count = 1_200): Hostile[] {
  const rng = createRng('urban-twin-fuzz');
  return Array.from({ length: count }, (_, n) => (n % 3 === 2 ? queryCase(rng) : ingestCase(rng, n)));
}

fuzz('1,200 generated hostile requests each get a 4xx problem+json and append nothing', async (ctx) => {
  const head = await ctx.store.headPosition();
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  const cases = hostileCases();
  const check = async (n: number) => {
    const c = cases[n]!;
    let req = request(ctx.server)
      [c.method](c.path)
      .set(c.method === 'post' && c.path === INGEST ? ctx.operator : ctx.admin);
    if (c.raw !== undefined) req = req.set('Content-Type', c.contentType ?? 'application/json').send(c.raw);
    else if (c.body !== undefined) req = req.send(c.body as object);
    const res = await req;
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    const type = String(res.headers['content-type'] ?? '');
    const text = res.text ?? '';
    const problem = `#${n} ${c.what} ${c.method.toUpperCase()} ${c.path.slice(0, 120)} -> ${res.status}`;
    if (res.status < 400 || res.status >= 500) failures.push(`${problem}: ${text.slice(0, 200)}`);
    else if (!type.startsWith('application/problem+json')) failures.push(`${problem}: content-type ${type}`);
    else if (/\n\s+at |node_modules|\/work\/|\.ts:\d+/.test(text))
      failures.push(`${problem}: leaks internals`);
  };
  // A few requests in flight at once, like real clients (and so the suite stays quick).
  let next = 0;
  await Promise.all(
    Array.from({ length: 6 }, async () => {
      while (next < cases.length && failures.length <= 20) await check(next++);
    }),
  );
  assert.equal(failures, [], `statuses: ${JSON.stringify([...statuses])}`);
  assert.is(await ctx.store.headPosition(), head, 'nothing was appended');
  assert.is(({} as Record<string, unknown>).polluted, undefined, 'no prototype was polluted');
  assert.is(Object.hasOwn(Object.prototype, 'polluted'), false);
  assert.ok(statuses.size >= 4, `a variety of refusals: ${JSON.stringify([...statuses])}`);
});

fuzz('the server still serves valid requests afterwards', async (ctx) => {
  assert.is((await request(ctx.server).get('/health')).status, 200);
  const layer = await request(ctx.server).get(`/api/v1/cities/${CITY}/layers/buildings`).set(ctx.admin);
  assert.is(layer.status, 200);
  const ok = await request(ctx.server)
    .post(INGEST)
    .set(ctx.operator)
    .send({ events: [{ ...buildingRegistered('after-fuzz'), id: testId('after-fuzz') }] });
  assert.is(ok.status, 201, JSON.stringify(ok.body));
});

fuzz.run();
