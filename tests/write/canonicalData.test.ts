import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { z } from 'zod';
import { generateCity, SEEDED_CITY_IDS } from '../../seeds/generate.js';
import { createRng } from '../../seeds/prng.js';
import { canonicalJson } from '../../src/audit/canonicalJson.js';
import { EVENT_SCHEMAS, eventDefinition } from '../../src/domain/events.js';
import { compileCanonicalWriter } from '../../src/write/canonicalData.js';
import { parseItem } from '../../src/write/parseItems.js';

const Writer = suite('canonical data writer compiled from the schemas');

const seeded = SEEDED_CITY_IDS.flatMap((city) =>
  generateCity(city, { scale: 0.2 }).map((e) => ({ city, event: e })),
);

Writer('writes every seeded event of the three cities exactly as canonicalJson does', () => {
  let compared = 0;
  for (const { event } of seeded) {
    const schema = eventDefinition(event.type)!.schema;
    const write = compileCanonicalWriter(schema);
    if (!write) continue;
    const parsed = schema.parse(structuredClone(event.data));
    assert.is(write(parsed), canonicalJson(parsed), event.type);
    compared++;
  }
  assert.ok(compared > 1_000, `only ${compared} compared`);
});

Writer('compiles for every event type', () => {
  for (const schemas of Object.values(EVENT_SCHEMAS)) {
    for (const [type, schema] of Object.entries(schemas)) {
      assert.ok(compileCanonicalWriter(schema as z.ZodType), type);
    }
  }
});

Writer(
  'agrees on seeded values that need care: escapes, unicode, -0, large and tiny numbers, absent and undefined members',
  () => {
    const schema = z.strictObject({
      name: z.string().optional(),
      note: z.string().nullable().optional(),
      n: z.number(),
      list: z.array(z.union([z.string(), z.number()])),
      pair: z.tuple([z.number(), z.string()]),
      point: z.tuple([z.number(), z.number()]),
      nested: z.strictObject({ b: z.boolean(), a: z.enum(['x', 'y']), é: z.number().optional() }),
      label: z.enum(['plain', 'quote " and \\ backslash', 'tab\tnew\nline', 'ăîșțâ €']),
      tag: z.literal(['on', '\u0001off']),
      level: z.literal([1, 2.5]),
    });
    const write = compileCanonicalWriter(schema)!;
    const rng = createRng('canonical-data');
    const strings = [
      'plain',
      'quote " and \\ backslash',
      'tab\tnew\nline',
      '\u0001ctl',
      'ăîșțâ €',
      '😀 pair',
      '',
    ];
    const numbers = [0, -0, 1e21, 1e-7, -123.456, 2 ** 53, 5e-324, 0.1 + 0.2];
    for (let i = 0; i < 300; i++) {
      const value: Record<string, unknown> = {
        n: rng.pick(numbers),
        list: Array.from({ length: rng.int(0, 3) }, () =>
          rng.chance(0.5) ? rng.pick(strings) : rng.pick(numbers),
        ),
        pair: [rng.pick(numbers), rng.pick(strings)],
        point: [rng.pick(numbers), rng.pick(numbers)],
        nested: { b: rng.chance(0.5), a: rng.pick(['x', 'y']), ...(rng.chance(0.5) ? { é: 1 } : {}) },
        label: rng.pick(['plain', 'quote " and \\ backslash', 'tab\tnew\nline', 'ăîșțâ €']),
        tag: rng.pick(['on', '\u0001off']),
        level: rng.pick([1, 2.5]),
      };
      if (rng.chance(0.5)) value.name = rng.pick(strings);
      if (rng.chance(0.3)) value.note = rng.chance(0.5) ? null : undefined;
      const parsed = schema.parse(value);
      assert.is(write(parsed), canonicalJson(parsed), JSON.stringify(value));
    }
  },
);

Writer('parsing an item writes its data text, the one the hash and the store then use', () => {
  const { city, event } = seeded.find((s) => s.event.type === 'BuildingRegistered')!;
  const item = parseItem(
    city,
    { id: event.id, type: event.type, entityId: event.entityId, data: structuredClone(event.data) },
    0,
    new Date('2030-01-01T00:00:00Z'),
  );
  assert.is(item.dataText, canonicalJson(item.event.data));
});

Writer.run();
