import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { UnavailableError } from '../../src/core/errors.js';
import { createMemoryEventStore } from '../../src/eventStore/memory.js';
import type { EventStore, SubscriptionMessage } from '../../src/eventStore/port.js';
import { createSqliteEventStore, type SqliteEventStoreOptions } from '../../src/eventStore/sqlite.js';
import type { TwinChangeBatch } from '../../src/twin/changes.js';
import { createProjectionRunner } from '../../src/twin/projectionRunner.js';
import { createMemorySnapshotStore } from '../../src/twin/snapshotStore.js';
import { eventually } from '../support/auth.js';
import { appendAll, randomCityEvents, smallCityEvents } from '../support/twinFixtures.js';
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

test('a catch-up read ahead with only the metadata the twin reads ends in the twin a full read gives', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'urban-twin-runner-'));
  const path = join(dir, 'events.sqlite');
  try {
    const writer = createSqliteEventStore(path);
    await appendAll(writer, randomCityEvents(41, 3_000));
    await writer.close();
    /** Replays the log into a fresh runner; counts the events handed over with reduced metadata. */
    const replay = async (options: SqliteEventStoreOptions, pauseMs: number) => {
      const store = createSqliteEventStore(path, options);
      let reduced = 0;
      // The store, with each subscription observed (and paused after its first event, so that the
      // read-ahead's worker has started and serves the pages that follow).
      const observed: EventStore = {
        ...store,
        subscribeToAll(subscribeOptions) {
          const subscription = store.subscribeToAll(subscribeOptions);
          return {
            close: () => subscription.close(),
            [Symbol.asyncIterator]() {
              const inner = subscription[Symbol.asyncIterator]();
              let count = 0;
              return {
                async next(): Promise<IteratorResult<SubscriptionMessage>> {
                  const result = await inner.next();
                  if (!result.done && result.value.type === 'event') {
                    if (!('actor' in result.value.event.metadata)) reduced++;
                    if (++count === 1) await new Promise((resolve) => setTimeout(resolve, pauseMs));
                  }
                  return result;
                },
              };
            },
          };
        },
      };
      const runner = createProjectionRunner({ store: observed });
      await runner.start();
      await runner.waitUntilCaughtUp(60_000);
      const image = registryImage(runner.twins);
      await runner.stop();
      await store.close();
      return { image, reduced };
    };
    const full = await replay({ readAheadMinEvents: Number.POSITIVE_INFINITY }, 0);
    assert.is(full.reduced, 0);
    let ahead = { image: '', reduced: 0 };
    for (let attempt = 1; attempt <= 10 && ahead.reduced === 0; attempt++) {
      ahead = await replay({ readAheadMinEvents: 0, pageSize: 50 }, 100 * attempt);
    }
    assert.ok(ahead.reduced > 0, 'the read-ahead served pages with reduced metadata');
    // (compared as a whole: a difference prints no megabyte of twin)
    assert.ok(ahead.image === full.image, 'the same twin');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
