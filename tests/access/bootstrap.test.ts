import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureAdminKey } from '../../src/access/bootstrap.js';
import { createKeyRegistry } from '../../src/access/keyRegistry.js';
import { createMemoryEventStore } from '../../src/eventStore/memory.js';

const test = suite('first admin key');

test('a fresh store gets one admin key, printed once, and a restart prints nothing', async () => {
  const store = createMemoryEventStore();
  const printed: string[] = [];
  const first = createKeyRegistry(store);
  const outcome = await ensureAdminKey(first, { print: (t) => printed.push(t) });
  assert.is(outcome.kind, 'generated');
  const key = /key: +(ut_\S+)/.exec(printed.join(''))?.[1];
  assert.ok(key, 'the key is printed');
  assert.equal(await first.authenticate(key!), {
    id: outcome.keyId!,
    role: 'admin',
    cities: '*',
    label: 'first admin (generated on first start)',
  });
  const restarted = createKeyRegistry(store);
  assert.is((await ensureAdminKey(restarted, { print: (t) => printed.push(t) })).kind, 'none');
  assert.is(printed.length, 1);
  await store.close();
});

test('ADMIN_KEY presets the admin key without printing it', async () => {
  const store = createMemoryEventStore();
  const printed: string[] = [];
  const keys = createKeyRegistry(store);
  const preset = 'preset-admin-key-chosen-by-the-operator-0123456789';
  const outcome = await ensureAdminKey(keys, { presetKey: preset, print: (t) => printed.push(t) });
  assert.is(outcome.kind, 'preset');
  assert.is(printed.length, 0);
  assert.is((await keys.authenticate(preset))?.role, 'admin');
  await ensureAdminKey(keys, { presetKey: preset, print: (t) => printed.push(t) });
  assert.is((await keys.list()).length, 1);
  await store.close();
});

test.run();
