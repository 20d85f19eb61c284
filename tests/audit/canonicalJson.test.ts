import canonicalize from 'canonicalize';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createRng, type Rng } from '../../seeds/prng.js';
import { canonicalJson } from '../../src/audit/canonicalJson.js';

const test = suite('canonical JSON');

const NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.1 + 0.2,
  1e21,
  1e-7,
  -1e-7,
  123456789012345680000,
  5e-324,
  1.7976931348623157e308,
  26.1234567,
  44.4,
  2 ** 53,
  -(2 ** 31),
  0.000001,
];
const STRINGS = [
  '',
  'a',
  'é',
  'Ștefan cel Mare',
  '\u0000\u001f',
  '"quoted" \\ back',
  '\n\t\r',
  '€',
  '😀',
  '\u2028\u2029',
  'z',
  'A',
  '\u00e9',
  'e\u0301',
  '\ud83d\ude00x',
  '</script>',
];

function randomValue(rng: Rng, depth: number): unknown {
  const pick = rng.int(0, depth > 3 ? 3 : 6);
  switch (pick) {
    case 0:
      return rng.chance(0.5) ? rng.pick(NUMBERS) : (rng.next() - 0.5) * 10 ** rng.int(-10, 25);
    case 1:
      return rng.pick(STRINGS) + (rng.chance(0.3) ? String(rng.int(0, 99)) : '');
    case 2:
      return rng.pick([true, false, null]);
    case 3:
      return rng.int(-1_000_000, 1_000_000);
    case 4:
    case 5: {
      const out: Record<string, unknown> = {};
      const n = rng.int(0, 6);
      for (let i = 0; i < n; i++) {
        const key = rng.pick([...STRINGS, 'type', 'coordinates', '10', '2', 'b', 'aa', 'a\u0000']);
        out[key + (rng.chance(0.2) ? String(i) : '')] = rng.chance(0.05)
          ? undefined
          : randomValue(rng, depth + 1);
      }
      return out;
    }
    default:
      return Array.from({ length: rng.int(0, 5) }, () =>
        rng.chance(0.05) ? undefined : randomValue(rng, depth + 1),
      );
  }
}

test('writes the very bytes canonicalize writes, for thousands of seeded random JSON values', () => {
  const rng = createRng('canonical-json');
  for (let i = 0; i < 5_000; i++) {
    const value = randomValue(rng, 0);
    const expected = canonicalize(value);
    const actual = canonicalJson(value);
    if (actual !== expected) assert.fixture(String(actual), String(expected), `value #${i}`);
  }
});

test('sorts keys by UTF-16 code units and writes numbers in the ECMAScript form', () => {
  assert.is(
    canonicalJson({ b: 1, a: [1e21, -0, 0.1 + 0.2], é: null, 'e\u0301': true, '😀': 1, '\uffff': 2 }),
    canonicalize({ b: 1, a: [1e21, -0, 0.1 + 0.2], é: null, 'e\u0301': true, '😀': 1, '\uffff': 2 }),
  );
  assert.is(canonicalJson({ b: 1, a: [1e21, -0, 0.1 + 0.2] }), '{"a":[1e+21,0,0.30000000000000004],"b":1}');
});

test('skips undefined members, writes null for undefined items and honours toJSON, like canonicalize', () => {
  const value = {
    d: new Date(Date.UTC(2026, 0, 2)),
    u: undefined,
    list: [undefined, 1],
    nested: { toJSON: () => ({ z: 1, y: 2 }) },
  };
  assert.is(canonicalJson(value), canonicalize(value));
  assert.is(canonicalJson(value), '{"d":"2026-01-02T00:00:00.000Z","list":[null,1],"nested":{"y":2,"z":1}}');
});

test('refuses what canonicalize refuses: NaN, Infinity, lone surrogates, cycles', () => {
  assert.throws(() => canonicalJson({ a: Number.NaN }), /NaN is not allowed/);
  assert.throws(() => canonicalJson([Number.POSITIVE_INFINITY]), /Infinity is not allowed/);
  assert.throws(() => canonicalJson({ a: '\ud800' }), /Lone surrogate/);
  assert.throws(() => canonicalJson({ '\udc00': 1 }), /Lone surrogate/);
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = { back: cyclic };
  assert.throws(() => canonicalJson(cyclic), /Circular reference/);
  const shared = { x: 1 };
  assert.is(canonicalJson({ a: shared, b: shared }), '{"a":{"x":1},"b":{"x":1}}');
});

test.run();
