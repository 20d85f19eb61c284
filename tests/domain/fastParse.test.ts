import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { z } from 'zod';
import { generateCity, SEEDED_CITY_IDS } from '../../seeds/generate.js';
import { createRng, type Rng } from '../../seeds/prng.js';
import { ValidationError } from '../../src/core/errors.js';
import { validationErrorFromZod } from '../../src/core/zodIssues.js';
import { EVENT_SCHEMAS, eventDefinition } from '../../src/domain/events.js';
import { compileFastParser, REJECTED } from '../../src/domain/fastParse.js';
import { parseItem } from '../../src/write/parseItems.js';
import { proposedItemSchema } from '../../src/write/types.js';

/** The seeded events of the three cities, as ingest items. */
const seeded = SEEDED_CITY_IDS.flatMap((city) =>
  generateCity(city, { scale: 0.2 }).map((e) => ({
    city,
    item: {
      id: e.id,
      type: e.type,
      ...(e.entityId !== undefined ? { entityId: e.entityId } : {}),
      data: e.data,
      occurredAt: e.occurredAt,
    },
  })),
);

const fastOf = new Map<z.ZodType, ReturnType<typeof compileFastParser>>();
function fast(schema: z.ZodType) {
  if (!fastOf.has(schema)) fastOf.set(schema, compileFastParser(schema));
  return fastOf.get(schema);
}

/**
 * The invariant the write path relies on: when the fast parser accepts, zod accepts with the same value
 * (same keys in the same order); when zod rejects, the fast parser rejects (and zod reports the error).
 */
function assertAgrees(schema: z.ZodType, input: unknown, label: string): 'accepted' | 'rejected' {
  const parser = fast(schema);
  const byZod = schema.safeParse(structuredClone(input));
  const byFast = parser ? parser(structuredClone(input)) : REJECTED;
  if (byFast === REJECTED) {
    return 'rejected';
  }
  assert.ok(byZod.success, `${label}: the fast parser accepted what zod rejects: ${JSON.stringify(input)}`);
  assert.equal(byFast, byZod.data, `${label}: a different value`);
  assert.is(JSON.stringify(byFast), JSON.stringify(byZod.data), `${label}: a different key order`);
  return 'accepted';
}

const Seeded = suite('fast parser on the seeded cities');

Seeded('accepts every seeded event of the three cities with the value zod returns', () => {
  let accepted = 0;
  const types = new Set<string>();
  for (const { item } of seeded) {
    assert.is(assertAgrees(proposedItemSchema, item, `${item.type} envelope`), 'accepted');
    const schema = eventDefinition(item.type)!.schema;
    if (!fast(schema)) continue;
    assert.is(assertAgrees(schema, item.data, item.type), 'accepted', `${item.type} was not accepted`);
    accepted++;
    types.add(item.type);
  }
  assert.ok(accepted > 1_000, `only ${accepted} seeded events checked`);
  assert.ok(types.size >= 10, `only ${[...types].join(', ')}`);
});

Seeded('compiles every event schema but those with a feature it does not reproduce', () => {
  const unsupported: string[] = [];
  for (const schemas of Object.values(EVENT_SCHEMAS)) {
    for (const [type, schema] of Object.entries(schemas)) {
      if (!compileFastParser(schema as z.ZodType)) unsupported.push(type);
    }
  }
  // a partial record (the factors per carrier) is left to zod
  assert.equal(unsupported, ['EmissionFactorsSet']);
});

Seeded('returns fresh objects and arrays, never the input itself', () => {
  const { item } = seeded.find((s) => s.item.type === 'BuildingRegistered')!;
  const input = structuredClone(item.data) as { footprint: { coordinates: number[][][] } };
  const out = fast(eventDefinition('BuildingRegistered')!.schema)!(input) as typeof input;
  assert.is.not(out, input);
  assert.is.not(out.footprint, input.footprint);
  assert.is.not(out.footprint.coordinates[0], input.footprint.coordinates[0]);
  assert.is.not(out.footprint.coordinates[0]![0], input.footprint.coordinates[0]![0]);
});

Seeded('rewinds a clockwise footprint exactly as zod does', () => {
  const { item } = seeded.find((s) => s.item.type === 'BuildingRegistered')!;
  const data = structuredClone(item.data) as { footprint: { coordinates: number[][][] } };
  data.footprint.coordinates[0]!.reverse();
  assert.is(assertAgrees(eventDefinition('BuildingRegistered')!.schema, data, 'clockwise'), 'accepted');
});

// ---- seeded mutations ----

type Path = (string | number)[];

/** Every path inside a JSON value (objects and arrays, not the root). */
function pathsOf(value: unknown, at: Path = [], out: Path[] = []): Path[] {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      out.push([...at, i]);
      pathsOf(v, [...at, i], out);
    });
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push([...at, k]);
      pathsOf(v, [...at, k], out);
    }
  }
  return out;
}

function parentAt(root: unknown, path: Path): Record<string | number, unknown> {
  let at = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  return at;
}

const REPLACEMENTS: unknown[] = [
  null,
  true,
  '',
  'x'.repeat(600),
  '12',
  -1,
  0,
  1.5,
  1e12,
  -1e12,
  200,
  -200,
  [],
  {},
  [1, 2],
  [1, 2, 3, 4],
  'A+',
  'residential',
  '2024-02-30T00:00:00Z',
  '2024-01-01T00:00:00Z',
];

/** One seeded mutation of `value`: a replaced value, a removed key, an extra key, a shortened array. */
function mutate(value: unknown, rng: Rng): { input: unknown; what: string } {
  const input = structuredClone(value) as Record<string, unknown>;
  const paths = pathsOf(input);
  const kind = paths.length === 0 ? 'extra' : rng.pick(['replace', 'replace', 'remove', 'extra', 'shorten']);
  if (kind === 'extra') {
    const objects = [[] as Path, ...paths].filter((p) => {
      const v = p.length === 0 ? input : parentAt(input, p)[p[p.length - 1]!];
      return v !== null && typeof v === 'object' && !Array.isArray(v);
    });
    const path = rng.pick(objects);
    const target = (path.length === 0 ? input : parentAt(input, path)[path[path.length - 1]!]) as Record<
      string,
      unknown
    >;
    target[rng.pick(['extra', 'Type', 'data', '__proto__'])] = rng.pick(REPLACEMENTS);
    return { input, what: `extra key at ${path.join('.')}` };
  }
  const path = rng.pick(paths);
  const parent = parentAt(input, path);
  const key = path[path.length - 1]!;
  if (kind === 'remove') {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key];
    return { input, what: `removed ${path.join('.')}` };
  }
  if (kind === 'shorten' && Array.isArray(parent[key])) {
    (parent[key] as unknown[]).length = rng.int(0, (parent[key] as unknown[]).length - 1);
    return { input, what: `shortened ${path.join('.')}` };
  }
  parent[key] = rng.pick(REPLACEMENTS);
  return { input, what: `replaced ${path.join('.')}` };
}

const Mutations = suite('fast parser on seeded mutations');

Mutations('rejects whatever zod rejects, and accepts only with the value zod returns', () => {
  const rng = createRng('fast-parse-mutations');
  let rejected = 0;
  let accepted = 0;
  for (let round = 0; round < 4; round++) {
    for (const { item } of seeded) {
      if (!rng.chance(0.25)) continue;
      const schema = eventDefinition(item.type)!.schema;
      const data = mutate(item.data, rng);
      const outcome = assertAgrees(schema, data.input, `${item.type} data, ${data.what}`);
      if (outcome === 'rejected') rejected++;
      else accepted++;
      const envelope = mutate(item, rng);
      assertAgrees(proposedItemSchema, envelope.input, `${item.type} envelope, ${envelope.what}`);
    }
  }
  assert.ok(rejected > 500, `only ${rejected} mutations were rejected`);
  assert.ok(accepted > 50, `only ${accepted} mutations were still valid`);
});

Mutations('a rejected item gives the error zod alone gives (index, field, value, message)', () => {
  const rng = createRng('fast-parse-errors');
  const now = new Date('2030-01-01T00:00:00Z');
  let compared = 0;
  for (const { city, item } of seeded) {
    if (!rng.chance(0.1)) continue;
    const { input } = mutate(item.data, rng);
    const candidate = { ...item, data: input };
    const schema = eventDefinition(item.type)!.schema;
    const byZod = schema.safeParse(structuredClone(input));
    if (byZod.success) continue;
    const expected = validationErrorFromZod(byZod.error, {
      input,
      index: 7,
      prefix: 'data',
      what: 'Invalid event',
    });
    try {
      parseItem(city, candidate, 7, now);
      assert.unreachable(`accepted ${JSON.stringify(candidate)}`);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      assert.is(err.message, expected.message);
      assert.equal(err.issues, expected.issues);
      compared++;
    }
  }
  assert.ok(compared > 100, `only ${compared} errors compared`);
});

const Features = suite('fast parser on schema features');

Features('keeps zod semantics for optional, nullable, unions, tuples, strip and strict objects', () => {
  const schema = z.strictObject({
    a: z.string().min(2).optional(),
    b: z.number().int().nullable(),
    c: z.union([z.tuple([z.number(), z.number()]), z.literal('none')]),
    d: z.object({ x: z.enum(['p', 'q']) }),
    e: z.array(z.boolean()).max(2),
    f: z.string().regex(/^[a-z]+$/),
  });
  const inputs = [
    { b: 1, c: [1, 2], d: { x: 'p' }, e: [], f: 'ok' },
    { a: 'xy', b: null, c: 'none', d: { x: 'q', y: 1 }, e: [true, false], f: 'ok' },
    { a: undefined, b: 2, c: [1, 2], d: { x: 'p' }, e: [], f: 'ok' },
    { a: 'x', b: 1, c: [1, 2], d: { x: 'p' }, e: [], f: 'ok' },
    { b: 1.5, c: [1, 2], d: { x: 'p' }, e: [], f: 'ok' },
    { b: 1, c: [1, 2, 3], d: { x: 'p' }, e: [], f: 'ok' },
    { b: 1, c: 'some', d: { x: 'p' }, e: [], f: 'ok' },
    { b: 1, c: [1, 2], d: { x: 'r' }, e: [], f: 'ok' },
    { b: 1, c: [1, 2], d: { x: 'p' }, e: [true, true, true], f: 'ok' },
    { b: 1, c: [1, 2], d: { x: 'p' }, e: [], f: 'OK' },
    { b: 1, c: [1, 2], d: { x: 'p' }, e: [], f: 'ok', g: 1 },
    { c: [1, 2], d: { x: 'p' }, e: [], f: 'ok' },
    { b: 1, c: [Number.NaN, 2], d: { x: 'p' }, e: [], f: 'ok' },
    [],
    null,
  ];
  const outcomes = inputs.map((input, i) => assertAgrees(schema, input, `input ${i}`));
  assert.equal(outcomes.slice(0, 4), ['accepted', 'accepted', 'accepted', 'rejected']);
  assert.ok(outcomes.slice(3).every((o) => o === 'rejected'));
});

Features('runs refinements and transforms as zod does, and leaves unsupported schemas to zod', () => {
  const refined = z
    .strictObject({ from: z.number(), to: z.number() })
    .refine((r) => r.to > r.from, { message: 'to after from', path: ['to'] })
    .transform((r) => ({ span: r.to - r.from }));
  assert.is(assertAgrees(refined, { from: 1, to: 3 }, 'refined'), 'accepted');
  assert.equal(compileFastParser(refined)!({ from: 1, to: 3 }), { span: 2 });
  assert.is(compileFastParser(refined)!({ from: 3, to: 1 }), REJECTED);
  assert.is(compileFastParser(z.strictObject({ n: z.number().default(1) })), undefined);
  assert.is(compileFastParser(z.record(z.string(), z.number())), undefined);
  assert.is(compileFastParser(z.string().optional().default('x')), undefined);
});

Seeded.run();
Mutations.run();
Features.run();
