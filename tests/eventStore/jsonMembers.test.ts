import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { memberPicker } from '../../src/eventStore/jsonMembers.mjs';

const pickMembers = (text: string, keys: readonly string[]) => memberPicker(keys)(text);

/** What pickMembers must equal: those members of the parsed object, as JSON.parse gives them. */
function expectedPick(text: string, keys: readonly string[]): unknown {
  const value = JSON.parse(text) as unknown;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const picked: Record<string, unknown> = Object.create(null);
  for (const key of keys)
    if (Object.hasOwn(value, key)) picked[key] = (value as Record<string, unknown>)[key];
  return { ...picked };
}

const parsed = (text: string) => ({ ...(JSON.parse(text) as object) });

/** Seeded, so a failure replays: a Park-Miller generator. */
function prng(seed: number) {
  let state = seed;
  return () => {
    state = (state * 48_271) % 2_147_483_647;
    return state / 2_147_483_647;
  };
}

const KEYS = ['occurredAt', 'actor'] as const;

test('picks the members of metadata as the write path stores it', () => {
  const text = JSON.stringify({
    actor: 'key:0123456789abcdef',
    source: 'gtfs-import',
    occurredAt: '2026-03-03T08:00:02.000Z',
    correlationId: 'c-1',
    causationId: null,
    prevHash: '0'.repeat(64),
    hash: 'f'.repeat(64),
  });
  assert.is(pickMembers(text, ['occurredAt']), '{"occurredAt":"2026-03-03T08:00:02.000Z"}');
  assert.equal(parsed(pickMembers(text, ['causationId', 'actor'])), {
    causationId: null,
    actor: 'key:0123456789abcdef',
  });
  assert.is(pickMembers(text, ['missing']), '{}');
});

test('takes only members of the object itself, whatever its strings and nested values hold', () => {
  const cases = [
    // the key's text inside a string, escaped quotes, backslashes
    { reason: 'set "occurredAt":"1999" by hand \\ ok', occurredAt: '2026-01-01T00:00:00.000Z' },
    { reason: '"occurredAt":"nope"' },
    // the key nested, before and after the real one
    { nested: { occurredAt: 'inner' }, occurredAt: 'outer' },
    { occurredAt: 'outer', list: [{ occurredAt: 'in a list' }] },
    { nested: { occurredAt: 'only inner' } },
    // strings with braces and brackets, numbers and literals as values
    { note: 'a {b} [c]', occurredAt: 42, actor: true },
    { occurredAt: -1.5e-7, actor: false },
    { actor: null, occurredAt: 'x,y}' },
    { occurredAt: 'ş ✓ \u0001' },
    // the key as a value
    { a: 'occurredAt', b: 'occurredAt:' },
    {},
  ];
  for (const value of cases) {
    const text = JSON.stringify(value);
    assert.equal(parsed(pickMembers(text, KEYS)), expectedPick(text, KEYS), text);
  }
});

test('agrees with JSON.parse on other JSON texts without a key twice', () => {
  const texts = [
    '{ "occurredAt" : "spaced" , "actor":"a" }',
    '{"occurredAt": "space after the colon", "x": "a,b"}',
    '{"actor" :"a","occurredAt":"t"}',
    '{"occurred\\u0041t":"escaped key"}',
    '{"__proto__":{"polluted":true},"occurredAt":"t"}',
    '{"occurredAt":null}',
    '{"occurredAt":1e3,"actor":-0.5}',
    '{"occurredAt":tru}'.replace('tru', 'true'),
  ];
  for (const text of texts) {
    const keys = [...KEYS, '__proto__'];
    assert.equal(parsed(pickMembers(text, keys)), expectedPick(text, keys), text);
  }
  assert.is(({} as Record<string, unknown>).polluted, undefined);
});

test('leaves texts that are not a JSON object unchanged, and malformed ones it meets', () => {
  for (const text of [
    'null',
    '[1,{"occurredAt":"x"}]',
    '"occurredAt"',
    '3',
    '',
    // not JSON: the subscriber's own parse reports it, so it must get it as it is
    '{"broken":',
    '{"occurredAt"x"y"}',
    '{"occurredAt":}',
    '{"occurredAt":nope}',
    '{"occurredAt":"x"y}',
  ]) {
    assert.is(pickMembers(text, KEYS), text);
  }
});

test('random flat and nested metadata: the same members as a full parse', () => {
  const random = prng(29);
  const pieces = ['occurredAt', 'actor', '"', '\\', ',', ':', '{', '}', '[', ']', 'x', 'ş', ' ', '\n'];
  const text = () =>
    Array.from({ length: Math.floor(random() * 8) }, () => pieces[Math.floor(random() * pieces.length)]).join(
      '',
    );
  const leaf = (): unknown => {
    const r = random();
    if (r < 0.5) return text();
    if (r < 0.6) return null;
    if (r < 0.7) return random() < 0.5;
    return Math.round((random() - 0.5) * 1e6) / 100;
  };
  for (let n = 0; n < 2_000; n++) {
    const value: Record<string, unknown> = {};
    const members = Math.floor(random() * 7);
    for (let m = 0; m < members; m++) {
      const key = random() < 0.4 ? KEYS[Math.floor(random() * KEYS.length)]! : text();
      value[key] = random() < 0.15 ? { occurredAt: leaf(), [text()]: [leaf()] } : leaf();
    }
    const json = JSON.stringify(value);
    assert.equal(parsed(pickMembers(json, KEYS)), expectedPick(json, KEYS), json);
  }
});

test.run();
