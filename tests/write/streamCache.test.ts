import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fixedClock } from '../../src/core/clock.js';
import { DomainRuleError } from '../../src/core/errors.js';
import { createMemoryEventStore } from '../../src/eventStore/memory.js';
import type { EventStore } from '../../src/eventStore/port.js';
import { createSqliteEventStore } from '../../src/eventStore/sqlite.js';
import { foldStream, RETRY_WINDOW } from '../../src/write/stateLoader.js';
import { createCachedStoreLoader } from '../../src/write/streamCache.js';
import type { WriteContext } from '../../src/write/types.js';
import { createWriter } from '../../src/write/writer.js';
import { buildingRegistered, caught, squareCityRegistered, tempDir, testId } from './fixtures.js';

const CITY = 'testville';
const ctx: WriteContext = { actor: 'key:ops-1', source: 'test-suite', correlationId: 'corr-1' };

/** The store, counting the streams read one by one. */
function counting(store: EventStore) {
  const reads: string[] = [];
  const counted: EventStore = Object.create(store);
  counted.readStream = (stream, options) => {
    reads.push(stream);
    return store.readStream(stream, options);
  };
  return { store: counted, reads };
}

/** Another part of the system's event, in a stream the write side never loads (an API key's). */
async function unrelatedEvent(store: EventStore) {
  await store.append('apikey-1', [{ id: testId('key-1'), type: 'ApiKeyCreated', data: {}, metadata: {} }], {
    expectedRevision: 'no_stream',
  });
}

/** A memory store holding the city and buildings b-0..b-5 (seven write-side events), and its writer. */
async function cityWithSixBuildings() {
  const store = createMemoryEventStore();
  const writer = createWriter({ store, clock: fixedClock('2026-06-01T12:00:00Z') });
  await writer.appendBatch(CITY, [{ ...squareCityRegistered, id: testId('city') }], ctx);
  await writer.appendBatch(
    CITY,
    Array.from({ length: 6 }, (_, i) => buildingRegistered(`b-${i}`)),
    ctx,
  );
  return { store, writer };
}

const Cache = suite('stream cache');

Cache('creates new streams on a store that already holds events without reading each one', async () => {
  const { store, reads } = counting(createMemoryEventStore());
  await unrelatedEvent(store);
  const writer = createWriter({ store, clock: fixedClock('2026-06-01T12:00:00Z') });
  await writer.appendBatch(CITY, [{ ...squareCityRegistered, id: testId('city') }], ctx);
  const result = await writer.appendBatch(
    CITY,
    Array.from({ length: 20 }, (_, i) => buildingRegistered(`b-${i}`)),
    ctx,
  );
  assert.is(result.appended, 20);
  assert.equal(reads, []);
});

Cache('still reads a stream the store holds but the cache does not', async () => {
  const tmp = tempDir('urban-twin-cache-');
  const file = join(tmp.dir, 'events.sqlite');
  const clock = fixedClock('2026-06-01T12:00:00Z');
  const first = createSqliteEventStore(file);
  try {
    const writer = createWriter({ store: first, clock });
    await writer.appendBatch(CITY, [{ ...squareCityRegistered, id: testId('city') }], ctx);
    await writer.appendBatch(CITY, [buildingRegistered('b-1')], ctx);
    // A writer starting on this store learns its streams once, then reads b-1 when it needs it
    const { store, reads } = counting(first);
    const next = createWriter({ store, clock });
    await next.appendBatch(CITY, [{ type: 'BuildingDemolished', entityId: 'b-1', data: {} }], ctx);
    const again = await next.appendBatch(CITY, [buildingRegistered('b-2')], ctx);
    assert.is(again.appended, 1);
    assert.equal(reads, ['city-testville', 'building-testville.b-1']);
  } finally {
    await first.close();
    tmp.cleanup();
  }
});

Cache('learns from the feed the streams another process created meanwhile', async () => {
  const tmp = tempDir('urban-twin-cache-');
  const file = join(tmp.dir, 'events.sqlite');
  const clock = fixedClock('2026-06-01T12:00:00Z');
  const server = createSqliteEventStore(file);
  const cli = createSqliteEventStore(file);
  try {
    const { store, reads } = counting(server);
    const serverWriter = createWriter({ store, clock });
    await serverWriter.appendBatch(CITY, [{ ...squareCityRegistered, id: testId('city') }], ctx);
    // the import CLI registers b-7 through its own connection
    await createWriter({ store: cli, clock }).appendBatch(CITY, [buildingRegistered('b-7')], ctx);
    const reading = {
      type: 'RooftopPvInstalled',
      entityId: 'b-7',
      data: { kWp: 3 },
    };
    const result = await serverWriter.appendBatch(CITY, [reading, buildingRegistered('b-8')], ctx);
    assert.equal(
      result.results.map((r) => [r.stream, r.revision]),
      [
        ['building-testville.b-7', 1],
        ['building-testville.b-8', 0],
      ],
    );
    // b-7 is known to exist (from the feed) and read for its state; b-8 is known to be new: not read
    assert.equal(reads, ['building-testville.b-7']);
  } finally {
    await server.close();
    await cli.close();
    tmp.cleanup();
  }
});

Cache('on a store with more events than it scans, reads streams one by one as before', async () => {
  const { store } = await cityWithSixBuildings();
  const { store: counted, reads } = counting(store);
  const loader = createCachedStoreLoader(counted, { maxScan: 5 });
  const session = await loader.begin();
  const existing = await session.load('building-testville.b-3', 'building');
  const fresh = await session.load('building-testville.b-99', 'building');
  assert.is(existing.revision, 0);
  assert.is(fresh.revision, -1);
  assert.equal(reads, ['building-testville.b-3', 'building-testville.b-99']);
});

Cache(
  'on a store larger than it scans, folds what another writer appended to a cached stream from the feed',
  async () => {
    const { store } = await cityWithSixBuildings();
    const { store: counted, reads } = counting(store);
    const loader = createCachedStoreLoader(counted, { maxScan: 5 });
    const first = await (await loader.begin()).load('building-testville.b-3', 'building');
    assert.is(first.revision, 0);
    // another writer demolishes b-3
    await createWriter({ store, clock: fixedClock('2026-06-01T12:00:00Z') }).appendBatch(
      CITY,
      [{ type: 'BuildingDemolished', entityId: 'b-3', data: {} }],
      ctx,
    );
    const again = await (await loader.begin()).load('building-testville.b-3', 'building');
    assert.is(again.revision, 1);
    assert.is((again.state as { status?: string }).status, 'demolished');
    assert.equal(reads, ['building-testville.b-3']);
  },
);

Cache('a stream another writer creates between deciding and appending is not created twice', async () => {
  const store = createMemoryEventStore();
  const clock = fixedClock('2026-06-01T12:00:00Z');
  await unrelatedEvent(store);
  // Right before our first append, another writer registers b-5: the stream we believed new now exists
  let raced = false;
  const racing: EventStore = Object.create(store);
  racing.appendMany = async (writes) => {
    if (!raced) {
      raced = true;
      await createWriter({ store, clock }).appendBatch(CITY, [buildingRegistered('b-5')], ctx);
    }
    return store.appendMany(writes);
  };
  const writer = createWriter({ store: racing, clock });
  await createWriter({ store, clock }).appendBatch(
    CITY,
    [{ ...squareCityRegistered, id: testId('city') }],
    ctx,
  );
  const err = await caught(writer.appendBatch(CITY, [buildingRegistered('b-5')], ctx));
  // decided again against the stream as it now is: b-5 is already registered
  assert.instance(err, DomainRuleError);
  const events = [];
  for await (const e of store.readStream('building-testville.b-5')) events.push(e);
  assert.is(events.length, 1);
});

/** A month's reading of building b-1 (server-made id unless `id` is given). */
const reading = (month: number, id?: string) => ({
  ...(id ? { id } : {}),
  type: 'MeterReadingRecorded',
  entityId: 'b-1',
  data: {
    carrier: 'electricity',
    kwh: 100 + month,
    periodStart: new Date(Date.UTC(2020, month, 1)).toISOString(),
    periodEnd: new Date(Date.UTC(2020, month + 1, 1)).toISOString(),
  },
});

Cache('a retry is recognised after the stream has grown, among readings that came without ids', async () => {
  const store = createMemoryEventStore();
  const writer = createWriter({ store, clock: fixedClock('2026-06-01T12:00:00Z') });
  await writer.appendBatch(
    CITY,
    [{ ...squareCityRegistered, id: testId('city') }, buildingRegistered('b-1')],
    ctx,
  );
  const given = [reading(0, testId('r-0')), reading(1, testId('r-1'))];
  const first = await writer.appendBatch(CITY, given, ctx);
  assert.is(first.appended, 2);
  // Many readings with ids the server makes, then the client retries its batch.
  await writer.appendBatch(
    CITY,
    Array.from({ length: 60 }, (_, m) => reading(m + 2)),
    ctx,
  );
  const retry = await writer.appendBatch(CITY, given, ctx);
  assert.is(retry.appended, 0);
  assert.equal(
    retry.results.map((r) => r.duplicate),
    [true, true],
  );
  let stored = 0;
  for await (const _ of store.readStream(`building-${CITY}.b-1`)) stored++;
  assert.is(stored, 1 + 2 + 60);
});

Cache.run();

const Window = suite('retry window of a loaded stream');

Window('keeps the ids of the last RETRY_WINDOW events of a long stream, oldest first', () => {
  const events = Array.from({ length: RETRY_WINDOW + 500 }, (_, revision) => ({
    position: BigInt(revision + 1),
    stream: `building-${CITY}.b-1`,
    revision,
    id: `id-${revision}`,
    type: 'MeterReadingRecorded',
    data: reading(revision % 12).data,
    metadata: {},
    recordedAt: '2026-06-01T12:00:00.000Z',
  }));
  const loaded = foldStream(`building-${CITY}.b-1`, 'building', events);
  assert.is(loaded.revision, RETRY_WINDOW + 499);
  assert.is(loaded.ids.size, RETRY_WINDOW);
  assert.is([...loaded.ids.keys()][0], 'id-500');
  assert.equal(loaded.ids.get(`id-${RETRY_WINDOW + 499}`)?.revision, RETRY_WINDOW + 499);
  assert.is(loaded.ids.get('id-499'), undefined);
});

Window.run();
