import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  createCatchUpSubscription,
  type FeedSource,
  type PageReadAhead,
} from '../../src/eventStore/catchUpSubscription.js';
import type { EventFilter, EventStore, NewEvent, RecordedEvent } from '../../src/eventStore/port.js';
import { createSqliteEventStore } from '../../src/eventStore/sqlite.js';
import { decodePage, learnTypes } from '../../src/eventStore/sqlitePageWire.js';
import { openSqliteReadAhead } from '../../src/eventStore/sqliteReadAhead.js';
import { eventStoreContract } from './contract.js';

// The whole contract again, with every catch-up that reads a full page reading ahead on a worker thread.
eventStoreContract('sqlite (catch-up read ahead on a worker thread)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'urban-twin-read-ahead-'));
  const path = join(dir, 'events.sqlite');
  // Pages of 50: a worker round trip per page of 3 could not outpace the contract's writer.
  const options = { pageSize: 50, readAheadMinEvents: 0 };
  return {
    store: createSqliteEventStore(path, options),
    reopen: async () => createSqliteEventStore(path, options),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

/** Seeded, so a failure replays: a Park-Miller generator. */
function prng(seed: number) {
  let state = seed;
  return () => {
    state = (state * 48_271) % 2_147_483_647;
    return state / 2_147_483_647;
  };
}

/** `count` events over a few streams of two kinds, with nested data and metadata (an occurredAt each). */
function history(count: number, seed: number): Array<{ stream: string; events: NewEvent[] }> {
  const random = prng(seed);
  const writes: Array<{ stream: string; events: NewEvent[] }> = [];
  for (let n = 0; n < count; ) {
    const size = Math.min(count - n, 1 + Math.floor(random() * 40));
    const kind = random() < 0.5 ? 'mobility' : 'building';
    writes.push({
      stream: `${kind}-suceava.e-${Math.floor(random() * 12)}`,
      events: Array.from({ length: size }, (_, i) => ({
        id: randomUUID(),
        type: kind === 'mobility' ? 'VehiclePositionReported' : 'MeterReadingRecorded',
        data: { n: n + i, value: random() * 100, text: 'ş "quoted" \\ ✓', nested: { list: [1, null, true] } },
        metadata: { actor: 'test', occurredAt: new Date(1_700_000_000_000 + (n + i) * 1000).toISOString() },
      })),
    });
    n += size;
  }
  return writes;
}

/** The events as JSON with their key order, so the same values in another shape would differ. */
const asText = (events: RecordedEvent[]) =>
  JSON.stringify(events, (_key, value) => (typeof value === 'bigint' ? `${value}n` : value));

interface Ctx {
  dir: string;
  path: string;
  store: EventStore;
}

const readAhead = suite<Ctx>('sqlite catch-up read-ahead', {} as Ctx);
readAhead.before.each(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'urban-twin-read-ahead-'));
  ctx.path = join(ctx.dir, 'events.sqlite');
  ctx.store = createSqliteEventStore(ctx.path, { readAheadMinEvents: Number.POSITIVE_INFINITY });
});
readAhead.after.each(async (ctx) => {
  await ctx.store.close();
  await rm(ctx.dir, { recursive: true, force: true });
});

/** Stream names by id, looked up as the store does (also streams created after the read-ahead opened). */
function streamNames(path: string): (id: number) => string {
  return (id) => {
    const db = new Database(path, { readonly: true });
    try {
      return db.prepare('SELECT name FROM streams WHERE stream_id = ?').pluck().get(id) as string;
    } finally {
      db.close();
    }
  };
}

/** Every event of the feed after `after`, read through the store in pages of `limit`. */
async function pagesOf(store: EventStore, limit: number, filter?: EventFilter) {
  const pages: RecordedEvent[][] = [];
  let page: RecordedEvent[] = [];
  for await (const event of store.readAll({ filter })) {
    page.push(event);
    if (page.length === limit) {
      pages.push(page);
      page = [];
    }
  }
  pages.push(page);
  return pages;
}

/** Takes the page after `after`, turning the event loop until the read-ahead has it or is reading it. */
async function takeWhenReady(ahead: PageReadAhead, after: bigint) {
  for (let turn = 0; turn < 5_000; turn++) {
    const batch = ahead.take(after);
    if (batch) return batch;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error('the read-ahead never answered');
}

readAhead(
  'gives the pages the store reads itself, with the same values in the same object shape',
  async (ctx) => {
    for (const write of history(700, 7)) await ctx.store.append(write.stream, write.events);
    const expected = await pagesOf(ctx.store, 50);
    const known = new Map<number, string>();
    const ahead = openSqliteReadAhead({
      path: ctx.path,
      filter: undefined,
      limit: 50,
      streamName: streamNames(ctx.path),
      knowStream: (id, name) => known.set(id, name),
    });
    try {
      // Asked before the worker is ready, and when it starts it, a page is the subscriber's to read; then
      // the worker reads that page too, and every page after it.
      let after = 0n;
      for (let index = 0; index < expected.length; index++) {
        const batch = await takeWhenReady(ahead, after);
        assert.is(asText(batch.page), asText(expected[index]!), `page ${index}`);
        if (batch.page.length > 0) after = batch.page.at(-1)!.position;
      }
    } finally {
      await ahead.close();
    }
    assert.is(ahead.active, false);
    // Every stream was named to this thread as the worker met it, once.
    assert.equal([...known.values()].sort(), [...new Set(expected.flat().map((e) => e.stream))].sort());
  },
);

readAhead(
  'a worker that cannot open the file ends the read-ahead, and the subscriber reads alone',
  async (ctx) => {
    const ahead = openSqliteReadAhead({
      path: join(ctx.dir, 'missing.sqlite'),
      filter: undefined,
      limit: 10,
      streamName: String,
    });
    for (let turn = 0; turn < 5_000 && ahead.active; turn++) {
      assert.is(ahead.take(0n), undefined);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    assert.is(ahead.active, false);
    assert.is(ahead.take(0n), undefined);
    await ahead.close();
  },
);

readAhead(
  'a filtered catch-up that reads ahead delivers every matching event once, in order, then the live ones',
  async (ctx) => {
    const writes = history(1_500, 11);
    for (const write of writes) await ctx.store.append(write.stream, write.events);
    const filter = { streamPrefixes: ['mobility-'] };
    const names = streamNames(ctx.path);
    let pagesTaken = 0;
    let pagesRead = 0;
    let workerReady = () => false;
    const limit = 20;
    const source: FeedSource = {
      async readAfter(after, size, f) {
        pagesRead++;
        const page: RecordedEvent[] = [];
        for await (const event of ctx.store.readAll({ fromPosition: after + 1n, maxCount: size, filter: f }))
          page.push(event);
        return page;
      },
      head: async () => (await ctx.store.headPosition()) ?? 0n,
      onAppend: () => () => {},
      pollIntervalMs: 5,
      readAhead(_after, size, f) {
        const ahead = openSqliteReadAhead({ path: ctx.path, filter: f, limit: size, streamName: names });
        workerReady = () => ahead.ready;
        return {
          take(after) {
            const batch = ahead.take(after);
            if (batch) pagesTaken++;
            return batch;
          },
          get active() {
            return ahead.active;
          },
          close: () => ahead.close(),
        };
      },
    };
    const subscription = createCatchUpSubscription(source, { startAfter: 0n, filter, pageSize: limit });
    const seen: RecordedEvent[] = [];
    let caughtUpAt = -1;
    let appended = false;
    for await (const message of subscription) {
      if (message.type === 'caughtUp') {
        caughtUpAt = seen.length;
        // A write after the catch-up arrives live, exactly once.
        await ctx.store.append(
          'mobility-suceava.e-live',
          history(5, 13).flatMap((w) => w.events),
        );
        continue;
      }
      seen.push(message.event);
      if (seen.length === limit + 1) {
        // The read-ahead opens after the first full page; the test waits for its worker to have started.
        for (let turn = 0; turn < 5_000 && !workerReady(); turn++) {
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      }
      if (!appended && seen.length === 300) {
        // A write during the catch-up lands in the history or live, never twice, never lost.
        appended = true;
        await ctx.store.append(
          'mobility-suceava.e-during',
          history(30, 17).flatMap((w) => w.events),
        );
      }
      if (caughtUpAt >= 0 && seen.length === caughtUpAt + 5) break;
    }
    await subscription.close();
    const expected: RecordedEvent[] = [];
    for await (const event of ctx.store.readAll({ filter })) expected.push(event);
    assert.is(seen.length, expected.length, 'as many events as the feed holds');
    for (let i = 0; i < expected.length; i++) {
      assert.is(asText([seen[i]!]), asText([expected[i]!]), `event ${i}`);
    }
    assert.ok(pagesTaken > 0, 'pages were read ahead');
    assert.ok(pagesRead < Math.ceil(expected.length / limit), 'the subscriber read fewer pages itself');
  },
);

readAhead(
  'a subscriber that names the metadata it reads gets only those members from the pages read ahead',
  async (ctx) => {
    const path = join(ctx.dir, 'picked.sqlite');
    const store = createSqliteEventStore(path, { pageSize: 50, readAheadMinEvents: 0 });
    try {
      for (const write of history(700, 19)) await store.append(write.stream, write.events);
      const expected: RecordedEvent[] = [];
      for await (const event of store.readAll()) expected.push(event);
      // Pages come from the worker once it has started (~0.1 s); until then the subscriber reads them
      // itself. So each try pauses after the first event, longer each time, until the worker has served.
      let seen: RecordedEvent[] = [];
      for (let attempt = 1; attempt <= 10; attempt++) {
        const subscription = store.subscribeToAll({ from: 'start', metadataKeys: ['occurredAt'] });
        seen = [];
        for await (const message of subscription) {
          if (message.type === 'caughtUp') break;
          seen.push(message.event);
          if (seen.length === 1) await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
        }
        await subscription.close();
        if (seen.some((e) => !('actor' in e.metadata))) break;
      }
      assert.is(seen.length, expected.length);
      const picked: number[] = [];
      for (let i = 0; i < expected.length; i++) {
        const { metadata, ...rest } = seen[i]!;
        const { metadata: full, ...expectedRest } = expected[i]!;
        assert.is(asText([rest as RecordedEvent]), asText([expectedRest as RecordedEvent]), `event ${i}`);
        if ('actor' in metadata) assert.equal(metadata, full, `event ${i}: all of it`);
        else {
          assert.equal(metadata, { occurredAt: full.occurredAt }, `event ${i}: only occurredAt`);
          picked.push(i);
        }
      }
      // The subscriber reads the first page itself (and the next ones until the worker has started): all of
      // the metadata; then the worker's pages, one run of events to the end of the history it saw.
      assert.ok(picked.length > 0, 'the read-ahead served pages');
      assert.ok(picked[0]! >= 50, 'not the first page');
      assert.is(picked.at(-1)! - picked[0]! + 1, picked.length, 'one run of pages');
    } finally {
      await store.close();
    }
  },
);

readAhead('a page whose JSON text does not hold two values per row is refused, not misread', () => {
  const page = {
    count: 1,
    numbers: new Float64Array([1, 1, 0, 0]),
    strings: 'idrecorded',
    lengths: new Int32Array([2, 8]),
    head: 0,
    types: ['Type'],
    json: '[]',
  };
  const typeNames: string[] = [];
  learnTypes(page, typeNames);
  assert.equal(typeNames, ['Type']);
  assert.throws(() => decodePage({ ...page, json: '[{"n":1},{},{}]' }, String, typeNames), /does not hold 2/);
  const [event] = decodePage({ ...page, json: '[{"n":1},{"occurredAt":"x"}]' }, (id) => `s-${id}`, typeNames);
  assert.equal(event, {
    position: 1n,
    stream: 's-1',
    revision: 0,
    id: 'id',
    type: 'Type',
    data: { n: 1 },
    metadata: { occurredAt: 'x' },
    recordedAt: 'recorded',
    streamNumber: 1,
  });
  // A type id no page has named is refused too (the pages were not read in order).
  assert.throws(
    () =>
      decodePage(
        { ...page, numbers: new Float64Array([1, 1, 0, 1]), json: '[{"n":1},{}]' },
        String,
        typeNames,
      ),
    /names no type 1/,
  );
});

readAhead(
  'a read-ahead that fails mid-way leaves the subscriber reading alone, without gap or repeat',
  async (ctx) => {
    for (const write of history(400, 23)) await ctx.store.append(write.stream, write.events);
    const all: RecordedEvent[] = [];
    for await (const event of ctx.store.readAll()) all.push(event);
    const limit = 25;
    let takes = 0;
    let closed = false;
    const readAfter = async (after: bigint, size: number) =>
      all.filter((e) => e.position > after).slice(0, size);
    const source: FeedSource = {
      readAfter,
      head: () => all.at(-1)!.position,
      onAppend: () => () => {},
      readAhead: () => ({
        // Two pages come from the read-ahead, then it fails.
        take(after) {
          takes++;
          if (takes > 2) return Promise.reject(new Error('worker gone'));
          return readAfter(after, limit).then((page) => ({ page, head: 0n }));
        },
        get active() {
          return !closed;
        },
        async close() {
          closed = true;
        },
      }),
    };
    const subscription = createCatchUpSubscription(source, {
      startAfter: 0n,
      filter: undefined,
      pageSize: limit,
    });
    const seen: RecordedEvent[] = [];
    for await (const message of subscription) {
      if (message.type === 'caughtUp') break;
      seen.push(message.event);
    }
    await subscription.close();
    assert.is(takes, 3, 'no page asked of a failed read-ahead');
    assert.ok(closed, 'the failed read-ahead was closed');
    assert.equal(
      seen.map((e) => e.position),
      all.map((e) => e.position),
    );
  },
);

readAhead(
  'closing while a page is awaited from the read-ahead ends the subscription without reading',
  async () => {
    const limit = 5;
    const events = Array.from({ length: 40 }, (_, i) => ({
      position: BigInt(i + 1),
      stream: 'mobility-suceava.e-1',
      revision: i,
      id: randomUUID(),
      type: 'VehiclePositionReported',
      data: { n: i },
      metadata: {},
      recordedAt: '2026-01-01T00:00:00.000Z',
    }));
    let closed = false;
    let reject: ((error: Error) => void) | undefined;
    const source: FeedSource = {
      async readAfter(after, size) {
        if (closed) throw new Error('read after close');
        return events.filter((e) => e.position > after).slice(0, size);
      },
      head: () => 40n,
      onAppend: () => () => {},
      readAhead: () => ({
        // Never answers; closing it fails the page it owes, as a terminated worker does.
        take: () =>
          new Promise<never>((_resolve, fail) => {
            reject = fail;
          }),
        get active() {
          return !closed;
        },
        async close() {
          closed = true;
          reject?.(new Error('terminated'));
        },
      }),
    };
    const subscription = createCatchUpSubscription(source, {
      startAfter: 0n,
      filter: undefined,
      pageSize: limit,
    });
    const iterator = subscription[Symbol.asyncIterator]();
    for (let i = 0; i < limit; i++) assert.is((await iterator.next()).done, false);
    const pending = iterator.next();
    await new Promise((resolve) => setImmediate(resolve));
    await subscription.close();
    assert.equal(await pending, { done: true, value: undefined });
  },
);

readAhead.run();
