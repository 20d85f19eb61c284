import { randomUUID } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCatchUpSubscription, type FeedSource } from '../../src/eventStore/catchUpSubscription.js';
import { createMemoryEventStore } from '../../src/eventStore/memory.js';
import type { NewEvent, RecordedEvent, SubscriptionMessage } from '../../src/eventStore/port.js';
import { createSqliteEventStore } from '../../src/eventStore/sqlite.js';

const events = (count: number, type: string): NewEvent[] =>
  Array.from({ length: count }, (_, n) => ({ id: randomUUID(), type, data: { n }, metadata: {} }));

test('the caughtUp marker carries the last position looked at, past events the filter skipped', async () => {
  const store = createMemoryEventStore();
  await store.append('mobility-suceava.bus-1', events(2, 'VehiclePositionReported'));
  const last = await store.append('building-suceava.b-1', events(3, 'MeterReadingRecorded'));
  const subscription = store.subscribeToAll({ filter: { eventTypes: ['VehiclePositionReported'] } });
  const seen: SubscriptionMessage[] = [];
  for await (const message of subscription) {
    seen.push(message);
    if (message.type === 'caughtUp') break;
  }
  await store.close();
  assert.is(seen.length, 3);
  assert.equal(seen[2], { type: 'caughtUp', position: last.position });
});

test('a subscription from beyond the head waits for events after that position', async () => {
  const store = createMemoryEventStore();
  await store.append('city-cluj-napoca', events(2, 'CityRegistered'));
  const subscription = store.subscribeToAll({ from: 3n });
  const iterator = subscription[Symbol.asyncIterator]();
  assert.equal(await iterator.next(), { done: false, value: { type: 'caughtUp', position: 3n } });
  await store.append('city-cluj-napoca', events(2, 'CityRegistered'));
  const next = await iterator.next();
  assert.is(next.done, false);
  assert.is((next.value as SubscriptionMessage & { type: 'event' }).event.position, 4n);
  await subscription.close();
  assert.equal(await iterator.next(), { done: true, value: undefined });
  await store.close();
});

test('breaking out of the loop stops the subscription and the store closes cleanly', async () => {
  const store = createSqliteEventStore(':memory:');
  await store.append('city-suceava', events(5, 'CityRegistered'));
  let count = 0;
  for await (const message of store.subscribeToAll()) {
    if (message.type === 'event') count++;
    if (count === 2) break;
  }
  assert.is(count, 2);
  await store.close();
});

test('an append that lands while a live read is under way is not slept through', async () => {
  const recorded = (position: bigint): RecordedEvent => ({
    id: randomUUID(),
    type: 'AssetStatusChanged',
    stream: 'mobility-cluj-napoca.charger-9',
    revision: Number(position) - 1,
    position,
    recordedAt: '2026-01-15T07:30:00.000Z',
    data: {},
    metadata: {},
  });
  const feed = [recorded(1n)];
  const listeners = new Set<() => void>();
  let reads = 0;
  // No polling: only the wake-up from an append can bring the subscription on.
  const source: FeedSource = {
    async readAfter(after) {
      reads++;
      const page = feed.filter((e) => e.position > after);
      if (reads === 2) {
        // The first live read: an append commits after the read's snapshot and before it returns.
        feed.push(recorded(2n));
        for (const listener of listeners) listener();
      }
      return page;
    },
    head: () => feed[feed.length - 1]!.position,
    onAppend(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  const subscription = createCatchUpSubscription(source, { startAfter: 0n, filter: undefined });
  const positions: bigint[] = [];
  const consumed = (async () => {
    for await (const message of subscription) {
      if (message.type === 'event') positions.push(message.event.position);
      if (positions.length === 2) break;
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve('timed out'), 10_000);
  });
  const outcome = await Promise.race([consumed.then(() => 'done'), timedOut]);
  clearTimeout(timer);
  await subscription.close();
  assert.is(outcome, 'done');
  assert.equal(positions, [1n, 2n]);
});

test.run();
