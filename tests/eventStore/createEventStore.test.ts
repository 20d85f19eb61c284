import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ValidationError } from '../../src/core/errors.js';
import { createEventStore, sqlitePathOf } from '../../src/eventStore/createEventStore.js';

const event = {
  id: '5d2c6f0e-8a41-4b7e-9c3d-1f2a3b4c5d6e',
  type: 'CityRegistered',
  data: { name: 'Cluj-Napoca' },
  metadata: {},
};

test('opens the SQLite store in <dataDir>/events.sqlite and keeps its events across reopening', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'urban-twin-factory-'));
  try {
    const store = await createEventStore({ kind: 'sqlite', dataDir: dir });
    assert.is(store.name, 'sqlite');
    await store.append('city-cluj-napoca', [event]);
    await store.close();
    assert.ok(existsSync(join(dir, 'events.sqlite')));
    const again = await createEventStore({ kind: 'sqlite', sqlitePath: sqlitePathOf({ dataDir: dir }) });
    assert.is(await again.headPosition(), 1n);
    await again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('opens a fresh memory store', async () => {
  const store = await createEventStore({ kind: 'memory' });
  assert.is(store.name, 'memory');
  assert.is(await store.headPosition(), undefined);
  await store.close();
});

test('refuses EventStoreDB without a connection string, naming EVENTSTORE_URL', async () => {
  try {
    await createEventStore({ kind: 'esdb' });
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.instance(error, ValidationError);
    assert.is((error as ValidationError).issues[0]?.field, 'EVENTSTORE_URL');
  }
});

test('refuses an unknown kind, naming EVENT_STORE', async () => {
  try {
    await createEventStore({ kind: 'postgres' as never });
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.instance(error, ValidationError);
    assert.is((error as ValidationError).issues[0]?.field, 'EVENT_STORE');
  }
});

test.run();
