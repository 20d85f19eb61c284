/**
 * The event store contract: one suite of behaviours every adapter (memory, sqlite, esdb) must pass.
 * Tests are written to run on a shared, non-empty store too (EventStoreDB): every test works in its own
 * namespace of streams, event types and checkpoint names, and reads the global feed through a filter or
 * from a position of its own.
 */
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AppError, ConcurrencyError, ValidationError } from '../../src/core/errors.js';
import type {
  EventStore,
  NewEvent,
  RecordedEvent,
  Subscription,
  SubscriptionMessage,
} from '../../src/eventStore/port.js';

export interface StoreFixture {
  store: EventStore;
  /** Opens the same data in a new store instance (for restart tests); the caller closes the old one first. */
  reopen?: () => Promise<EventStore>;
  cleanup: () => Promise<void>;
}

interface Context {
  fixture: StoreFixture;
  store: EventStore;
  /** Stores opened by `reopen` during the test, closed afterwards. */
  extra: EventStore[];
}

// A namespace per test: a unique category (the part before the first `-`) and type prefix.
const run = randomUUID().replace(/-/g, '').slice(0, 10);
let counter = 0;
function namespace() {
  counter++;
  const tag = `t${run}n${counter}`;
  return {
    tag,
    stream: (name: string) => `${tag}-${name}`,
    type: (name: string) => `${tag}.${name}`,
    prefix: `${tag}-`,
  };
}

/** Deterministic content: the n-th event of a test carries { n } and a fixed metadata block. */
function events(count: number, type: string, start = 0): NewEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    id: randomUUID(),
    type,
    data: { n: start + i, note: 'Strada Doamnei 12, Sector 3', kWh: 12.5 },
    metadata: { actor: 'contract-test', source: 'tests', correlationId: 'c-1', causationId: null },
  }));
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

async function rejects(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return assert.unreachable('expected a rejection, the call succeeded');
}

/** Resolves with `promise` or fails the test after `ms` (generous: the machine may be busy). */
async function within<T>(promise: Promise<T>, what: string, ms = 30_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads a subscription until `done` says so, returning the messages seen; only messages that `keep` accepts
 * are recorded and passed to `done` (on a shared store other writers' events are ignored).
 */
async function consume(
  subscription: Subscription,
  done: (seen: SubscriptionMessage[]) => boolean,
  keep: (m: SubscriptionMessage) => boolean = () => true,
  onMessage?: (m: SubscriptionMessage) => void,
): Promise<SubscriptionMessage[]> {
  const seen: SubscriptionMessage[] = [];
  if (done(seen)) return seen;
  for await (const message of subscription) {
    onMessage?.(message);
    if (!keep(message)) continue;
    seen.push(message);
    if (done(seen)) break;
  }
  return seen;
}

const eventsOf = (messages: SubscriptionMessage[]): RecordedEvent[] =>
  messages.flatMap((m) => (m.type === 'event' ? [m.event] : []));

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

function assertConcurrency(error: unknown, expected: string, actual: string) {
  assert.instance(error, ConcurrencyError);
  const e = error as ConcurrencyError;
  assert.is(e.expected, expected);
  assert.is(e.actual, actual);
  assert.is(e.status, 409);
}

/** Registers the contract's uvu suites for one adapter. */
export function eventStoreContract(adapterName: string, factory: () => Promise<StoreFixture>): void {
  const make = (name: string) => {
    const s = suite<Context>(`${adapterName} event store: ${name}`, {} as Context);
    s.before.each(async (ctx) => {
      ctx.fixture = await factory();
      ctx.store = ctx.fixture.store;
      ctx.extra = [];
    });
    s.after.each(async (ctx) => {
      for (const store of ctx.extra) await store.close();
      await ctx.store.close();
      await ctx.fixture.cleanup();
    });
    return s;
  };

  // ---------------------------------------------------------------- appending and reading back
  const append = make('appending');

  append(
    'appends to a new stream and reads the events back with revisions, positions and content',
    async ({ store }) => {
      const ns = namespace();
      const batch = events(3, ns.type('MeterReadingRecorded'));
      const result = await store.append(ns.stream('b-1'), batch, { expectedRevision: 'no_stream' });
      assert.is(result.stream, ns.stream('b-1'));
      assert.is(result.nextExpectedRevision, 2);
      const read = await collect(store.readStream(ns.stream('b-1')));
      assert.equal(
        read.map((e) => e.id),
        batch.map((e) => e.id),
      );
      assert.equal(
        read.map((e) => e.revision),
        [0, 1, 2],
      );
      assert.is(read[2]!.position, result.position);
      assert.ok(read[0]!.position > 0n && read[0]!.position < read[1]!.position);
      assert.equal(read[1]!.data, batch[1]!.data);
      assert.equal(read[1]!.metadata, batch[1]!.metadata);
      assert.is(read[1]!.type, ns.type('MeterReadingRecorded'));
      assert.is(read[1]!.stream, ns.stream('b-1'));
      assert.ok(!Number.isNaN(Date.parse(read[1]!.recordedAt)), 'recordedAt is an ISO time');
    },
  );

  append('continues a stream from the revision an append returned', async ({ store }) => {
    const ns = namespace();
    const first = await store.append(ns.stream('b-1'), events(2, ns.type('A')), {
      expectedRevision: 'no_stream',
    });
    const second = await store.append(ns.stream('b-1'), events(1, ns.type('A')), {
      expectedRevision: first.nextExpectedRevision,
    });
    assert.is(second.nextExpectedRevision, 2);
    assert.ok(second.position > first.position);
  });

  append('gives events strictly increasing positions across streams, in append order', async ({ store }) => {
    const ns = namespace();
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const batch = events(2, ns.type('A'), i * 2);
      ids.push(...batch.map((e) => e.id));
      await store.append(ns.stream(`s-${i % 3}`), batch);
    }
    const all = await collect(store.readAll({ filter: { streamPrefixes: [ns.prefix] } }));
    assert.equal(
      all.map((e) => e.id),
      ids,
    );
    for (let i = 1; i < all.length; i++) assert.ok(all[i]!.position > all[i - 1]!.position);
    const s1 = all.filter((e) => e.stream === ns.stream('s-1')).map((e) => e.revision);
    assert.equal(s1, [0, 1, 2, 3]);
  });

  append('reports the head position of the store', async ({ store }) => {
    const ns = namespace();
    const result = await store.append(ns.stream('a'), events(2, ns.type('A')));
    const head = await store.headPosition();
    assert.ok(head !== undefined && head >= result.position);
  });

  append('appends 10,000 events in one call and reads them all back in order', async ({ store }) => {
    const ns = namespace();
    const batch = events(10_000, ns.type('PositionReported'));
    const result = await store.append(ns.stream('bus-7'), batch, { expectedRevision: 'no_stream' });
    assert.is(result.nextExpectedRevision, 9_999);
    const read = await collect(store.readStream(ns.stream('bus-7')));
    assert.is(read.length, 10_000);
    read.forEach((e, i) => {
      if (e.revision !== i || e.id !== batch[i]!.id) assert.unreachable(`event ${i} out of place`);
    });
    const fromAll = await collect(store.readAll({ filter: { streamPrefixes: [ns.prefix] } }));
    assert.is(fromAll.length, 10_000);
    assert.is(fromAll[9_999]!.position, result.position);
  });

  append('rejects an event whose id is not a UUID and appends nothing', async ({ store }) => {
    const ns = namespace();
    const batch = events(2, ns.type('A'));
    batch[1]!.id = 'not-a-uuid';
    const error = await rejects(store.append(ns.stream('a'), batch));
    assert.instance(error, ValidationError);
    assert.match(JSON.stringify((error as ValidationError).issues), /not-a-uuid/);
    assert.equal(await collect(store.readStream(ns.stream('a'))), []);
  });

  append('rejects an append that carries the same event id twice', async ({ store }) => {
    const ns = namespace();
    const batch = events(2, ns.type('A'));
    batch[1]!.id = batch[0]!.id;
    assert.instance(await rejects(store.append(ns.stream('a'), batch)), ValidationError);
    assert.equal(await collect(store.readStream(ns.stream('a'))), []);
  });

  append.run();

  // ---------------------------------------------------------------- optimistic concurrency
  const concurrency = make('expected revisions');

  concurrency('no_stream fails on an existing stream, naming expected and actual', async ({ store }) => {
    const ns = namespace();
    await store.append(ns.stream('a'), events(1, ns.type('A')));
    assertConcurrency(
      await rejects(store.append(ns.stream('a'), events(1, ns.type('A')), { expectedRevision: 'no_stream' })),
      'no_stream',
      '0',
    );
  });

  concurrency('stream_exists fails on a missing stream and passes on an existing one', async ({ store }) => {
    const ns = namespace();
    assertConcurrency(
      await rejects(
        store.append(ns.stream('a'), events(1, ns.type('A')), { expectedRevision: 'stream_exists' }),
      ),
      'stream_exists',
      'no_stream',
    );
    await store.append(ns.stream('a'), events(1, ns.type('A')), { expectedRevision: 'no_stream' });
    const ok = await store.append(ns.stream('a'), events(1, ns.type('A')), {
      expectedRevision: 'stream_exists',
    });
    assert.is(ok.nextExpectedRevision, 1);
  });

  concurrency('a stale revision fails and writes nothing', async ({ store }) => {
    const ns = namespace();
    await store.append(ns.stream('a'), events(2, ns.type('A')), { expectedRevision: 'no_stream' });
    assertConcurrency(
      await rejects(store.append(ns.stream('a'), events(1, ns.type('A')), { expectedRevision: 0 })),
      '0',
      '1',
    );
    assertConcurrency(
      await rejects(store.append(ns.stream('a'), events(1, ns.type('A')), { expectedRevision: 5 })),
      '5',
      '1',
    );
    assert.is((await collect(store.readStream(ns.stream('a')))).length, 2);
  });

  concurrency('a revision on a missing stream fails with actual no_stream', async ({ store }) => {
    const ns = namespace();
    assertConcurrency(
      await rejects(store.append(ns.stream('a'), events(1, ns.type('A')), { expectedRevision: 0 })),
      '0',
      'no_stream',
    );
  });

  concurrency('any appends whatever the stream state', async ({ store }) => {
    const ns = namespace();
    const a = await store.append(ns.stream('a'), events(1, ns.type('A')), { expectedRevision: 'any' });
    const b = await store.append(ns.stream('a'), events(1, ns.type('A')));
    assert.is(a.nextExpectedRevision, 0);
    assert.is(b.nextExpectedRevision, 1);
  });

  concurrency('of two writers expecting the same revision exactly one wins', async ({ store }) => {
    const ns = namespace();
    await store.append(ns.stream('a'), events(1, ns.type('A')), { expectedRevision: 'no_stream' });
    const outcomes = await Promise.allSettled([
      store.append(ns.stream('a'), events(1, ns.type('A')), { expectedRevision: 0 }),
      store.append(ns.stream('a'), events(1, ns.type('A')), { expectedRevision: 0 }),
    ]);
    assert.is(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
    const failed = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    assertConcurrency(failed.reason, '0', '1');
  });

  concurrency.run();

  // ---------------------------------------------------------------- idempotency
  const idempotency = make('idempotency by event id');

  idempotency(
    'a retry with the same ids and expected revision returns the original result',
    async ({ store }) => {
      const ns = namespace();
      const batch = events(3, ns.type('A'));
      const original = await store.append(ns.stream('a'), batch, { expectedRevision: 'no_stream' });
      const retry = await store.append(ns.stream('a'), batch, { expectedRevision: 'no_stream' });
      assert.equal(retry, original);
      assert.is((await collect(store.readStream(ns.stream('a')))).length, 3);
    },
  );

  idempotency('a retry after the stream moved on still returns the original result', async ({ store }) => {
    const ns = namespace();
    await store.append(ns.stream('a'), events(1, ns.type('A')), { expectedRevision: 'no_stream' });
    const batch = events(2, ns.type('A'));
    const original = await store.append(ns.stream('a'), batch, { expectedRevision: 0 });
    await store.append(ns.stream('a'), events(1, ns.type('A')), { expectedRevision: 2 });
    const retry = await store.append(ns.stream('a'), batch, { expectedRevision: 0 });
    assert.equal(retry, original);
    assert.is((await collect(store.readStream(ns.stream('a')))).length, 4);
  });

  idempotency('a retry with expected revision any writes nothing', async ({ store }) => {
    const ns = namespace();
    const batch = events(2, ns.type('A'));
    const original = await store.append(ns.stream('a'), batch);
    const retry = await store.append(ns.stream('a'), batch);
    assert.equal(retry, original);
    const all = await collect(store.readAll({ filter: { streamPrefixes: [ns.prefix] } }));
    assert.is(all.length, 2);
  });

  idempotency(
    'a retry whose ids only partly match what is stored is rejected and writes nothing',
    async ({ store }) => {
      const ns = namespace();
      const batch = events(2, ns.type('A'));
      await store.append(ns.stream('a'), batch, { expectedRevision: 'no_stream' });
      const overlapping = [batch[0]!, ...events(1, ns.type('A'))];
      const error = await rejects(
        store.append(ns.stream('a'), overlapping, { expectedRevision: 'no_stream' }),
      );
      assert.instance(error, AppError);
      assert.is((error as AppError).status, 409);
      assert.is((await collect(store.readStream(ns.stream('a')))).length, 2);
    },
  );

  idempotency(
    'a retried multi-stream batch returns the original results and writes nothing',
    async ({ store }) => {
      const ns = namespace();
      const writes = [
        { stream: ns.stream('a'), events: events(2, ns.type('A')), expectedRevision: 'no_stream' as const },
        { stream: ns.stream('b'), events: events(3, ns.type('A')), expectedRevision: 'no_stream' as const },
      ];
      const original = await store.appendMany(writes);
      const retry = await store.appendMany(writes);
      assert.equal(retry, original);
      assert.is((await collect(store.readAll({ filter: { streamPrefixes: [ns.prefix] } }))).length, 5);
    },
  );

  idempotency('a retry completes a batch of which only the first write had landed', async ({ store }) => {
    const ns = namespace();
    const first = {
      stream: ns.stream('a'),
      events: events(2, ns.type('A')),
      expectedRevision: 'no_stream' as const,
    };
    const second = {
      stream: ns.stream('b'),
      events: events(2, ns.type('A')),
      expectedRevision: 'no_stream' as const,
    };
    const landed = await store.appendMany([first]);
    const results = await store.appendMany([first, second]);
    assert.equal(results[0], landed[0]);
    assert.is(results[1]!.nextExpectedRevision, 1);
    assert.is((await collect(store.readAll({ filter: { streamPrefixes: [ns.prefix] } }))).length, 4);
  });

  idempotency.run();

  // ---------------------------------------------------------------- multi-stream appends
  const many = make('appendMany');

  many('appends to several streams and returns one result per write, in order', async ({ store }) => {
    const ns = namespace();
    const results = await store.appendMany([
      { stream: ns.stream('a'), events: events(2, ns.type('A')), expectedRevision: 'no_stream' },
      { stream: ns.stream('b'), events: events(1, ns.type('A')) },
      { stream: ns.stream('a'), events: events(1, ns.type('A')), expectedRevision: 1 },
    ]);
    assert.equal(
      results.map((r) => [r.stream, r.nextExpectedRevision]),
      [
        [ns.stream('a'), 1],
        [ns.stream('b'), 0],
        [ns.stream('a'), 2],
      ],
    );
    assert.ok(results[0]!.position < results[1]!.position && results[1]!.position < results[2]!.position);
  });

  many('a conflict in one write of an atomic store appends none of the batch', async ({ store }) => {
    const ns = namespace();
    await store.append(ns.stream('b'), events(1, ns.type('A')));
    const error = await rejects(
      store.appendMany([
        { stream: ns.stream('a'), events: events(2, ns.type('A')), expectedRevision: 'no_stream' },
        { stream: ns.stream('b'), events: events(1, ns.type('A')), expectedRevision: 'no_stream' },
      ]),
    );
    assertConcurrency(error, 'no_stream', '0');
    const stored = await collect(store.readAll({ filter: { streamPrefixes: [ns.prefix] } }));
    if (store.capabilities.atomicMultiStreamAppend) {
      assert.is(stored.length, 1, 'nothing of the failed batch landed');
    } else {
      // Not atomic: what landed before the conflict stays, and nothing after it was written.
      assert.ok(stored.every((e) => e.stream !== ns.stream('b') || e.revision === 0));
    }
  });

  many('the same event id in another stream is another event', async ({ store }) => {
    const ns = namespace();
    const [event] = events(1, ns.type('A'));
    await store.append(ns.stream('a'), [event!]);
    const other = await store.append(ns.stream('b'), [event!], { expectedRevision: 'no_stream' });
    assert.is(other.nextExpectedRevision, 0);
    assert.is((await collect(store.readStream(ns.stream('b'))))[0]!.id, event!.id);
  });

  many(
    'rejects an expected revision that is not one of the four kinds and appends nothing',
    async ({ store }) => {
      const ns = namespace();
      const error = await rejects(
        store.appendMany([
          { stream: ns.stream('a'), events: events(1, ns.type('A')) },
          { stream: ns.stream('b'), events: events(1, ns.type('A')), expectedRevision: -1 },
        ]),
      );
      assert.instance(error, ValidationError);
      assert.equal(await collect(store.readStream(ns.stream('a'))), []);
    },
  );

  many.run();

  // ---------------------------------------------------------------- reading
  const reads = make('reads');

  reads('reads a stream forwards from an inclusive revision with a max count', async ({ store }) => {
    const ns = namespace();
    await store.append(ns.stream('a'), events(10, ns.type('A')));
    const read = await collect(store.readStream(ns.stream('a'), { fromRevision: 3, maxCount: 4 }));
    assert.equal(
      read.map((e) => e.revision),
      [3, 4, 5, 6],
    );
  });

  reads('reads a stream backwards from the end and from an inclusive revision', async ({ store }) => {
    const ns = namespace();
    await store.append(ns.stream('a'), events(5, ns.type('A')));
    const fromEnd = await collect(store.readStream(ns.stream('a'), { direction: 'backwards', maxCount: 2 }));
    assert.equal(
      fromEnd.map((e) => e.revision),
      [4, 3],
    );
    const fromTwo = await collect(
      store.readStream(ns.stream('a'), { direction: 'backwards', fromRevision: 2 }),
    );
    assert.equal(
      fromTwo.map((e) => e.revision),
      [2, 1, 0],
    );
  });

  reads(
    'reads nothing forwards from the end, past the end, or from a stream that does not exist',
    async ({ store }) => {
      const ns = namespace();
      await store.append(ns.stream('a'), events(3, ns.type('A')));
      assert.equal(await collect(store.readStream(ns.stream('a'), { fromRevision: 'end' })), []);
      assert.equal(await collect(store.readStream(ns.stream('a'), { fromRevision: 3 })), []);
      assert.equal(await collect(store.readStream(ns.stream('missing'))), []);
      assert.equal(await collect(store.readStream(ns.stream('missing'), { direction: 'backwards' })), []);
    },
  );

  reads('reads a stream longer than a page without a gap', async ({ store }) => {
    const ns = namespace();
    for (let i = 0; i < 3; i++) await store.append(ns.stream('a'), events(1_100, ns.type('A'), i * 1_100));
    const forwards = await collect(store.readStream(ns.stream('a')));
    assert.equal(
      forwards.map((e) => (e.data as { n: number }).n),
      Array.from({ length: 3_300 }, (_, i) => i),
    );
    const backwards = await collect(store.readStream(ns.stream('a'), { direction: 'backwards' }));
    assert.equal(
      backwards.map((e) => e.revision),
      Array.from({ length: 3_300 }, (_, i) => 3_299 - i),
    );
  });

  reads('reads the feed from an inclusive position, forwards and backwards', async ({ store }) => {
    const ns = namespace();
    await store.append(ns.stream('a'), events(3, ns.type('A')));
    await store.append(ns.stream('b'), events(3, ns.type('A'), 3));
    const all = await collect(store.readAll({ filter: { streamPrefixes: [ns.prefix] } }));
    const third = all[2]!.position;
    const forwards = await collect(
      store.readAll({ fromPosition: third, maxCount: 2, filter: { streamPrefixes: [ns.prefix] } }),
    );
    assert.equal(
      forwards.map((e) => (e.data as { n: number }).n),
      [2, 3],
    );
    const backwards = await collect(
      store.readAll({ fromPosition: third, direction: 'backwards', filter: { streamPrefixes: [ns.prefix] } }),
    );
    assert.equal(
      backwards.map((e) => (e.data as { n: number }).n),
      [2, 1, 0],
    );
  });

  reads('reads the feed backwards from the end, newest first', async ({ store }) => {
    const ns = namespace();
    await store.append(ns.stream('a'), events(4, ns.type('A')));
    const newest = await collect(
      store.readAll({ direction: 'backwards', maxCount: 3, filter: { streamPrefixes: [ns.prefix] } }),
    );
    assert.equal(
      newest.map((e) => (e.data as { n: number }).n),
      [3, 2, 1],
    );
    const unfiltered = await collect(
      store.readAll({ fromPosition: 'end', direction: 'backwards', maxCount: 1 }),
    );
    assert.is(unfiltered.length, 1);
    assert.is(unfiltered[0]!.position, await store.headPosition());
  });

  reads('reads nothing forwards from the end of the feed', async ({ store }) => {
    const ns = namespace();
    await store.append(ns.stream('a'), events(2, ns.type('A')));
    assert.equal(await collect(store.readAll({ fromPosition: 'end' })), []);
  });

  reads.run();

  // ---------------------------------------------------------------- filters
  const filters = make('filters');

  filters('filters the feed by stream prefix, by event type, and by both', async ({ store }) => {
    const ns = namespace();
    const registered = ns.type('BuildingRegistered');
    const reading = ns.type('MeterReadingRecorded');
    await store.appendMany([
      { stream: `${ns.tag}-bucharest.b-1`, events: events(1, registered) },
      { stream: `${ns.tag}-cluj.b-2`, events: events(1, registered) },
      { stream: `${ns.tag}-bucharest.b-1`, events: events(2, reading) },
      { stream: `${ns.tag}-suceava.b-3`, events: events(1, reading) },
    ]);
    const streamsOf = (list: RecordedEvent[]) => list.map((e) => `${e.stream}:${e.type}`);
    const byPrefix = await collect(store.readAll({ filter: { streamPrefixes: [`${ns.tag}-bucharest.`] } }));
    assert.is(byPrefix.length, 3);
    assert.ok(byPrefix.every((e) => e.stream === `${ns.tag}-bucharest.b-1`));
    const byTwoPrefixes = await collect(
      store.readAll({ filter: { streamPrefixes: [`${ns.tag}-cluj.`, `${ns.tag}-suceava.`] } }),
    );
    assert.equal(streamsOf(byTwoPrefixes), [
      `${ns.tag}-cluj.b-2:${registered}`,
      `${ns.tag}-suceava.b-3:${reading}`,
    ]);
    const byType = await collect(store.readAll({ filter: { eventTypes: [registered] } }));
    assert.equal(streamsOf(byType), [
      `${ns.tag}-bucharest.b-1:${registered}`,
      `${ns.tag}-cluj.b-2:${registered}`,
    ]);
    const both = await collect(
      store.readAll({ filter: { streamPrefixes: [`${ns.tag}-bucharest.`], eventTypes: [reading] } }),
    );
    assert.equal(streamsOf(both), [
      `${ns.tag}-bucharest.b-1:${reading}`,
      `${ns.tag}-bucharest.b-1:${reading}`,
    ]);
    const limited = await collect(store.readAll({ maxCount: 1, filter: { eventTypes: [reading] } }));
    assert.equal(streamsOf(limited), [`${ns.tag}-bucharest.b-1:${reading}`]);
  });

  filters('rejects a filter with an empty list, which would match nothing', async ({ store }) => {
    const error = await rejects(collect(store.readAll({ filter: { eventTypes: [] } })));
    assert.instance(error, ValidationError);
  });

  filters.run();

  // ---------------------------------------------------------------- subscriptions
  const subs = make('subscriptions');

  subs(
    'catches up, marks caught up once, then goes live with no gap and no duplicate while appends continue',
    async ({ store }) => {
      const ns = namespace();
      const type = ns.type('PositionReported');
      const expected: string[] = [];
      for (let i = 0; i < 5; i++) {
        const batch = events(500, type, i * 500);
        expected.push(...batch.map((e) => e.id));
        await store.append(ns.stream(`bus-${i}`), batch);
      }
      // Appends race the catch-up two ways: ten made from inside the consumer while it pages through history,
      // and a writer that keeps appending (yielding to the event loop) across the switch to live.
      let writing: Promise<void> | undefined;
      const write = async () => {
        for (let i = 0; i < 60; i++) {
          const batch = events(10, type, 2_500 + i * 10);
          expected.push(...batch.map((e) => e.id));
          await store.append(ns.stream(`bus-${i % 7}`), batch);
          if (i % 3 === 0) await tick();
        }
      };
      let received = 0;
      let inline = 0;
      const onMessage = () => {
        received++;
        writing ??= write();
        if (received % 100 === 0 && inline < 10) {
          const batch = events(10, type, 10_000 + inline * 10);
          expected.push(...batch.map((e) => e.id));
          inline++;
          void store.append(ns.stream('tram-1'), batch);
        }
      };
      const subscription = store.subscribeToAll({ filter: { streamPrefixes: [ns.prefix] } });
      const total = 2_500 + 600 + 100;
      const seen = await within(
        consume(
          subscription,
          (s) => eventsOf(s).length >= total,
          () => true,
          onMessage,
        ),
        'all events through the subscription',
      );
      await subscription.close();
      await writing;
      const delivered = eventsOf(seen);
      assert.is(delivered.length, total);
      assert.equal(new Set(delivered.map((e) => e.id)).size, total, 'no duplicate');
      assert.equal([...delivered.map((e) => e.id)].sort(), [...expected].sort(), 'no gap');
      for (let i = 1; i < delivered.length; i++)
        assert.ok(delivered[i]!.position > delivered[i - 1]!.position);
      assert.is(seen.filter((m) => m.type === 'caughtUp').length, 1, 'one caughtUp marker');
    },
  );

  subs('an unfiltered subscription delivers history and live events in order', async ({ store }) => {
    const ns = namespace();
    // Start from a real event boundary just before our history (EventStoreDB refuses positions that are not
    // one); on a shared store others' events are skipped by `keep`.
    const marker = await store.append(ns.stream('marker'), events(1, ns.type('M')));
    const before = await store.append(ns.stream('a'), events(3, ns.type('A')));
    const from = marker.position;
    const subscription = store.subscribeToAll({ from });
    const mine = (m: SubscriptionMessage) => m.type === 'caughtUp' || m.event.stream.startsWith(ns.prefix);
    let appended = false;
    const seen = await within(
      consume(
        subscription,
        (s) => eventsOf(s).length >= 6,
        mine,
        (m) => {
          if (m.type === 'caughtUp' && !appended) {
            appended = true;
            void store.append(ns.stream('b'), events(3, ns.type('A'), 3));
          }
        },
      ),
      'history and live events',
    );
    await subscription.close();
    const delivered = eventsOf(seen);
    assert.equal(
      delivered.map((e) => (e.data as { n: number }).n),
      [0, 1, 2, 3, 4, 5],
    );
    assert.ok(delivered[2]!.position === before.position);
    const caughtUp = seen.findIndex((m) => m.type === 'caughtUp');
    assert.ok(caughtUp >= 3, 'the marker follows the history');
  });

  subs('a subscription from a position starts after it', async ({ store }) => {
    const ns = namespace();
    await store.append(ns.stream('a'), events(5, ns.type('A')));
    const stored = await collect(store.readStream(ns.stream('a')));
    const subscription = store.subscribeToAll({
      from: stored[1]!.position,
      filter: { streamPrefixes: [ns.prefix] },
    });
    const seen = await within(
      consume(subscription, (s) => eventsOf(s).length >= 3),
      'events after the position',
    );
    await subscription.close();
    assert.equal(
      eventsOf(seen).map((e) => e.revision),
      [2, 3, 4],
    );
  });

  subs('a subscription from the end delivers only what is appended afterwards', async ({ store }) => {
    const ns = namespace();
    await store.append(ns.stream('a'), events(3, ns.type('A')));
    const subscription = store.subscribeToAll({ from: 'end', filter: { streamPrefixes: [ns.prefix] } });
    const live = events(2, ns.type('A'), 3);
    const consumed = consume(subscription, (s) => eventsOf(s).length >= 2);
    await store.append(ns.stream('a'), live);
    const seen = await within(consumed, 'live events');
    await subscription.close();
    assert.equal(
      eventsOf(seen).map((e) => e.id),
      live.map((e) => e.id),
    );
  });

  subs('a filtered subscription delivers only matching events, past and live', async ({ store }) => {
    const ns = namespace();
    const wanted = ns.type('ChargerStatusChanged');
    await store.append(ns.stream('c-1'), events(2, wanted));
    await store.append(ns.stream('c-1'), events(3, ns.type('OccupancyReported')));
    const subscription = store.subscribeToAll({ filter: { eventTypes: [wanted] } });
    let appended = false;
    const seen = await within(
      consume(
        subscription,
        (s) => eventsOf(s).length >= 3,
        () => true,
        (m) => {
          if (m.type === 'caughtUp' && !appended) {
            appended = true;
            void store
              .append(ns.stream('c-2'), events(2, ns.type('OccupancyReported')))
              .then(() => store.append(ns.stream('c-2'), events(1, wanted, 9)));
          }
        },
      ),
      'matching events',
    );
    await subscription.close();
    const delivered = eventsOf(seen);
    assert.ok(delivered.every((e) => e.type === wanted));
    assert.equal(
      delivered.map((e) => (e.data as { n: number }).n),
      [0, 1, 9],
    );
  });

  subs('closing a live subscription ends its iteration', async ({ store }) => {
    const ns = namespace();
    await store.append(ns.stream('a'), events(1, ns.type('A')));
    const subscription = store.subscribeToAll({ from: 'end', filter: { streamPrefixes: [ns.prefix] } });
    const iteration = consume(subscription, () => false);
    await tick();
    await subscription.close();
    await within(iteration, 'the iteration to end');
    await subscription.close();
  });

  subs('closing the store ends its live subscriptions', async (ctx) => {
    const ns = namespace();
    await ctx.store.append(ns.stream('a'), events(1, ns.type('A')));
    const subscription = ctx.store.subscribeToAll({ filter: { streamPrefixes: [ns.prefix] } });
    const iteration = consume(subscription, () => false);
    await tick();
    await ctx.store.close();
    await within(iteration, 'the iteration to end with the store');
  });

  subs.run();

  // ---------------------------------------------------------------- checkpoints
  const checkpoints = make('checkpoints');

  checkpoints('stores, overwrites and reads named checkpoints', async ({ store }) => {
    const ns = namespace();
    assert.is(await store.getCheckpoint(`${ns.tag}-projection`), undefined);
    await store.setCheckpoint(`${ns.tag}-projection`, 5n);
    await store.setCheckpoint(`${ns.tag}-projection`, 42n);
    await store.setCheckpoint(`${ns.tag}-other`, 7n);
    assert.is(await store.getCheckpoint(`${ns.tag}-projection`), 42n);
    assert.is(await store.getCheckpoint(`${ns.tag}-other`), 7n);
  });

  checkpoints(
    'a restarted subscriber resumes after its checkpoint without a gap or a repeat',
    async (ctx) => {
      const ns = namespace();
      const name = `${ns.tag}-twin`;
      const appended = await ctx.store.append(ns.stream('a'), events(6, ns.type('A')));
      assert.is(appended.nextExpectedRevision, 5);
      const first = ctx.store.subscribeToAll({ filter: { streamPrefixes: [ns.prefix] } });
      const seen = await within(
        consume(first, (s) => eventsOf(s).length >= 3),
        'the first three events',
      );
      await first.close();
      await ctx.store.setCheckpoint(name, eventsOf(seen)[2]!.position);

      let store = ctx.store;
      if (ctx.fixture.reopen) {
        await ctx.store.close();
        store = await ctx.fixture.reopen();
        ctx.extra.push(store);
      }
      const checkpoint = await store.getCheckpoint(name);
      assert.ok(checkpoint !== undefined);
      const resumed = store.subscribeToAll({ from: checkpoint, filter: { streamPrefixes: [ns.prefix] } });
      const rest = await within(
        consume(resumed, (s) => s.some((m) => m.type === 'caughtUp')),
        'the rest of the history',
      );
      await resumed.close();
      assert.equal(
        eventsOf(rest).map((e) => (e.data as { n: number }).n),
        [3, 4, 5],
      );
    },
  );

  checkpoints.run();
}
