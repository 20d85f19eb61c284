import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { UnavailableError } from '../../src/core/errors.js';
import { createMemoryEventStore } from '../../src/eventStore/memory.js';
import type { TwinChangeBatch } from '../../src/twin/changes.js';
import { createProjectionRunner } from '../../src/twin/projectionRunner.js';
import { createMemorySnapshotStore } from '../../src/twin/snapshotStore.js';
import { eventually } from '../support/auth.js';
import { appendAll, smallCityEvents } from '../support/twinFixtures.js';
import { registryImage } from '../support/twinImage.js';

const test = suite('projection runner');

test('is not ready until caught up, replays the history silently, then tells listeners of live events in position order', async () => {
  const store = createMemoryEventStore();
  const events = smallCityEvents();
  await appendAll(store, events.slice(0, 10));
  const runner = createProjectionRunner({ store });
  assert.throws(
    () => runner.ready(),
    (e: unknown) => e instanceof UnavailableError,
  );
  const batches: TwinChangeBatch[] = [];
  runner.onChange((b) => batches.push(b));
  await runner.start();
  await runner.waitUntilCaughtUp(10_000);
  runner.ready();
  // The history (positions 1-10) built the twin without a change batch per event.
  assert.is(batches.length, 0);
  assert.is(runner.position, 10n);
  await appendAll(store, events.slice(10));
  await runner.waitForPosition(BigInt(events.length), 10_000);
  assert.equal(
    batches.map((b) => b.position),
    events.slice(10).map((_, i) => BigInt(i + 11)),
  );
  const pv = batches.find((b) => b.eventType === 'RooftopPvInstalled')!;
  assert.is(pv.city, 'testville');
  assert.is(pv.changes[0]?.op, 'upsert');
  assert.is(pv.occurredAt, '2025-01-01T00:00:00.000Z');
  await runner.stop();
  await store.close();
});

test('a listener that throws does not stop the runner', async () => {
  const store = createMemoryEventStore();
  const runner = createProjectionRunner({ store });
  runner.onChange(() => {
    throw new Error('boom');
  });
  let seen = 0;
  const off = runner.onChange(() => seen++);
  await runner.start();
  await appendAll(store, smallCityEvents().slice(0, 3));
  await eventually(() => seen === 3);
  off();
  await appendAll(store, smallCityEvents().slice(3, 4));
  await runner.waitForPosition(4n);
  assert.is(seen, 3);
  await runner.stop();
  await store.close();
});

test('snapshots every N events and a new runner resumes from the snapshot to the same twin', async () => {
  const store = createMemoryEventStore();
  const snapshots = createMemorySnapshotStore();
  const events = smallCityEvents();
  await appendAll(store, events);
  const first = createProjectionRunner({ store, snapshots, snapshotEveryEvents: 7 });
  await first.start();
  await first.waitUntilCaughtUp();
  const image = registryImage(first.twins);
  await first.stop();
  const saved = await snapshots.load();
  assert.is(saved?.position, String(events.length));
  const second = createProjectionRunner({ store, snapshots });
  await second.start();
  await second.waitUntilCaughtUp();
  assert.ok(registryImage(second.twins) === image);
  await second.stop();
  await store.close();
});

test('waitForPosition rejects with UnavailableError when the position never comes', async () => {
  const store = createMemoryEventStore();
  const runner = createProjectionRunner({ store });
  await runner.start();
  try {
    await runner.waitForPosition(99n, 50);
    assert.unreachable('should time out');
  } catch (err) {
    assert.instance(err, UnavailableError);
  }
  await runner.stop();
  await store.close();
});

test.run();
