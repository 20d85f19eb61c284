/**
 * The EventStoreDB adapter through the real `@eventstore/db-client` against the wire-level test server:
 * behaviour specific to EventStoreDB that the shared contract suite does not look at (system events in $all,
 * both append paths of the client, checkpoint streams, partial multi-stream batches, cluster connection
 * strings, an unreachable server).
 */
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConcurrencyError, ConflictError, UnavailableError } from '../../src/core/errors.js';
import { createEsdbEventStore } from '../../src/eventStore/esdb/esdbEventStore.js';
import type { EventStore, NewEvent, RecordedEvent, SubscriptionMessage } from '../../src/eventStore/port.js';
import { type EsdbTestServer, startEsdbTestServer } from '../support/esdbTestServer/index.js';

const ev = (type: string, data: Record<string, unknown> = {}): NewEvent => ({
  id: randomUUID(),
  type,
  data,
  metadata: { actor: 'test' },
});

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Reads messages until `done` says so, failing after a generous timeout instead of hanging. */
async function take(
  iterator: AsyncIterator<SubscriptionMessage>,
  done: (seen: SubscriptionMessage[]) => boolean,
  timeoutMs = 10_000,
): Promise<SubscriptionMessage[]> {
  const seen: SubscriptionMessage[] = [];
  const deadline = Date.now() + timeoutMs;
  while (!done(seen)) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new Error(`timed out after ${seen.length} messages`);
    let timer: NodeJS.Timeout | undefined;
    const next = await Promise.race([
      iterator.next(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${seen.length} messages`)), remaining);
      }),
    ]).finally(() => clearTimeout(timer));
    if (next.done) break;
    seen.push(next.value);
  }
  return seen;
}

interface Ctx {
  server: EsdbTestServer;
  store: EventStore;
}

function withStore(name: string, options: Parameters<typeof startEsdbTestServer>[0] = {}) {
  const s = suite<Ctx>(name);
  s.before.each(async (ctx) => {
    ctx.server = await startEsdbTestServer(options);
    ctx.store = createEsdbEventStore(ctx.server.url);
  });
  s.after.each(async (ctx) => {
    await ctx.store.close();
    await ctx.server.stop();
  });
  return s;
}

const basics = withStore('esdb adapter');

basics(
  'appends through BatchAppend when the server offers it, with 0-based revisions and $all positions',
  async ({ server, store }) => {
    const first = await store.append(
      'building-cluj.b1',
      [ev('BuildingRegistered'), ev('BuildingRetrofitted')],
      {
        expectedRevision: 'no_stream',
      },
    );
    assert.is(first.nextExpectedRevision, 1);
    assert.is(server.calls.batchAppend, 1);
    assert.is(server.calls.append, 0);
    const events = await collect(store.readStream('building-cluj.b1'));
    assert.equal(
      events.map((e) => [e.revision, e.type]),
      [
        [0, 'BuildingRegistered'],
        [1, 'BuildingRetrofitted'],
      ],
    );
    assert.is(events[1]!.position, first.position);
    assert.ok(events[0]!.position < events[1]!.position);
    assert.equal(events[0]!.metadata, { actor: 'test' });
    assert.match(events[0]!.recordedAt, /^\d{4}-\d\d-\d\dT/);
  },
);

basics(
  'turns a wrong expected revision into a ConcurrencyError with expected and actual',
  async ({ store }) => {
    await store.append('grid-suceava.n1', [ev('GridNodeAdded')]);
    try {
      await store.append('grid-suceava.n1', [ev('GridLoadReported')], { expectedRevision: 5 });
      assert.unreachable('should have thrown');
    } catch (error) {
      assert.instance(error, ConcurrencyError);
      assert.is((error as ConcurrencyError).expected, '5');
      assert.is((error as ConcurrencyError).actual, '0');
    }
    try {
      await store.append('grid-suceava.n2', [ev('GridLoadReported')], { expectedRevision: 'stream_exists' });
      assert.unreachable('should have thrown');
    } catch (error) {
      assert.instance(error, ConcurrencyError);
      assert.is((error as ConcurrencyError).actual, 'no_stream');
    }
  },
);

basics(
  'leaves the server own system events out of readAll, subscriptions and the head position',
  async ({ server, store }) => {
    await store.append('city-cluj', [ev('CityRegistered')]);
    server.appendSystemEvent('$stats-127.0.0.1:2113', '$statsCollected');
    const all = await collect(store.readAll());
    assert.equal(
      all.map((e) => e.stream),
      ['city-cluj'],
    );
    const head = await store.headPosition();
    assert.is(head, all[0]!.position);
    const backwards = await collect(store.readAll({ direction: 'backwards' }));
    assert.equal(
      backwards.map((e) => e.type),
      ['CityRegistered'],
    );
  },
);

basics(
  'stores checkpoints in a checkpoint stream that the feed and the head position ignore',
  async ({ store }) => {
    const { position } = await store.append('city-suceava', [ev('CityRegistered')]);
    assert.is(await store.getCheckpoint('twin'), undefined);
    await store.setCheckpoint('twin', position);
    await store.setCheckpoint('twin', position + 1n);
    assert.is(await store.getCheckpoint('twin'), position + 1n);
    assert.is(await store.headPosition(), position);
    assert.equal(
      (await collect(store.readAll())).map((e) => e.stream),
      ['city-suceava'],
    );
  },
);

basics('reads $all backwards inclusive of the given position', async ({ store }) => {
  const a = await store.append('mobility-cluj.m1', [ev('A')]);
  const b = await store.append('mobility-cluj.m1', [ev('B')]);
  await store.append('mobility-cluj.m1', [ev('C')]);
  const back = await collect(store.readAll({ direction: 'backwards', fromPosition: b.position }));
  assert.equal(
    back.map((e) => e.type),
    ['B', 'A'],
  );
  const fwd = await collect(store.readAll({ fromPosition: a.position, maxCount: 2 }));
  assert.equal(
    fwd.map((e) => e.type),
    ['A', 'B'],
  );
});

basics('pages through $all with filters across page boundaries', async ({ server }) => {
  const store = createEsdbEventStore(server.url, { pageSize: 8 });
  try {
    const writes = Array.from({ length: 3 }, (_, k) => ({
      stream: `building-cluj.p${k}`,
      events: Array.from({ length: 20 }, (_, i) => ev(i % 2 === 0 ? 'Even' : 'Odd')),
    }));
    await store.appendMany(writes);
    const odd = await collect(store.readAll({ filter: { eventTypes: ['Odd'] } }));
    assert.is(odd.length, 30);
    const positions = odd.map((e) => e.position);
    assert.equal(
      positions,
      [...positions].sort((x, y) => (x < y ? -1 : 1)),
    );
    assert.is(new Set(positions).size, 30);
    const p2 = await collect(
      store.readAll({ filter: { streamPrefixes: ['building-cluj.p2'] }, direction: 'backwards' }),
    );
    assert.equal(
      p2.map((e) => e.revision),
      Array.from({ length: 20 }, (_, i) => 19 - i),
    );
    const some = await collect(store.readAll({ fromPosition: odd[3]!.position, maxCount: 17 }));
    assert.is(some.length, 17);
    assert.is(some[0]!.id, odd[3]!.id);
  } finally {
    await store.close();
  }
});

basics(
  'subscribes after a position, marks caught-up once, then delivers live appends in order',
  async ({ store }) => {
    const first = await store.append('building-cluj.s1', [ev('One')]);
    await store.append('building-cluj.s1', [ev('Two')]);
    await store.append('mobility-cluj.s2', [ev('Other')]);
    const sub = store.subscribeToAll({ from: first.position, filter: { streamPrefixes: ['building-'] } });
    const it = sub[Symbol.asyncIterator]();
    const history = await take(it, (seen) => seen.some((m) => m.type === 'caughtUp'));
    assert.equal(
      history.map((m) => (m.type === 'event' ? m.event.type : m.type)),
      ['Two', 'caughtUp'],
    );
    const appending = (async () => {
      for (let i = 0; i < 20; i++) await store.append('building-cluj.s1', [ev(`Live${i}`)]);
    })();
    const live = await take(it, (seen) => seen.length === 20);
    await appending;
    assert.equal(
      live.map((m) => (m.type === 'event' ? m.event.type : m.type)),
      Array.from({ length: 20 }, (_, i) => `Live${i}`),
    );
    await sub.close();
    assert.ok((await it.next()).done);
  },
);

basics(
  'retries of a partly written multi-stream batch complete it without duplicating',
  async ({ store }) => {
    await store.append('building-bucharest.b2', [ev('Registered')]);
    const writes = [
      { stream: 'building-bucharest.b1', events: [ev('Registered')], expectedRevision: 'no_stream' as const },
      { stream: 'building-bucharest.b2', events: [ev('Retrofitted')], expectedRevision: 5 },
    ];
    try {
      await store.appendMany(writes);
      assert.unreachable('second write should conflict');
    } catch (error) {
      assert.instance(error, ConcurrencyError);
    }
    // The first write landed (EventStoreDB has no multi-stream transaction); the caller fixes and retries.
    const fixed = [writes[0]!, { ...writes[1]!, expectedRevision: 0 }];
    const results = await store.appendMany(fixed);
    assert.equal(
      results.map((r) => r.nextExpectedRevision),
      [0, 1],
    );
    const again = await store.appendMany(fixed);
    assert.equal(again, results);
    assert.is((await collect(store.readStream('building-bucharest.b1'))).length, 1);
    assert.is((await collect(store.readStream('building-bucharest.b2'))).length, 2);
  },
);

basics('answers a re-append of the same ids with the original result', async ({ store }) => {
  const events = [ev('A'), ev('B')];
  const original = await store.append('grid-cluj.g1', events, { expectedRevision: 'no_stream' });
  await store.append('grid-cluj.g1', [ev('C')]);
  assert.equal(await store.append('grid-cluj.g1', events, { expectedRevision: 'no_stream' }), original);
  assert.equal(await store.append('grid-cluj.g1', events), original);
  assert.is((await collect(store.readStream('grid-cluj.g1'))).length, 3);
});

basics('turns a partial retry into a ConflictError, as the other adapters do', async ({ store }) => {
  const a = ev('A');
  await store.append('grid-cluj.g2', [a], { expectedRevision: 'no_stream' });
  for (const expectedRevision of ['no_stream', 'any'] as const) {
    try {
      await store.append('grid-cluj.g2', [a, ev('B')], { expectedRevision });
      assert.unreachable('should have thrown');
    } catch (error) {
      assert.instance(error, ConflictError, `expected revision ${expectedRevision}`);
    }
  }
  assert.is((await collect(store.readStream('grid-cluj.g2'))).length, 1);
});

basics('reads a missing stream as empty and pings the server', async ({ store }) => {
  assert.equal(await collect(store.readStream('building-cluj.none')), []);
  await store.ping();
  assert.is(await store.headPosition(), undefined);
});

basics.run();

const legacy = withStore('esdb adapter on a server without BatchAppend', {
  legacyAppend: true,
  omitIdempotentPosition: true,
});

legacy('falls back to the streaming Append call and still maps conflicts', async ({ server, store }) => {
  await store.append('city-cluj', [ev('CityRegistered')], { expectedRevision: 'no_stream' });
  assert.is(server.calls.append, 1);
  assert.is(server.calls.batchAppend, 0);
  try {
    await store.append('city-cluj', [ev('CityRegistered')], { expectedRevision: 'no_stream' });
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.instance(error, ConcurrencyError);
    assert.is((error as ConcurrencyError).actual, '0');
  }
});

legacy(
  'finds the original position of an idempotent re-append the server answers without one',
  async ({ store }) => {
    const events = [ev('A'), ev('B')];
    const original = await store.append('city-suceava', events);
    await store.append('city-suceava', [ev('C')]);
    const retried = await store.append('city-suceava', events);
    assert.equal(retried, original);
  },
);

legacy.run();

const cluster = suite('esdb adapter connection');

cluster('connects through gossip when given several seed nodes', async () => {
  const server = await startEsdbTestServer();
  const store = createEsdbEventStore(
    `esdb://127.0.0.1:${server.port},127.0.0.1:${server.port},127.0.0.1:${server.port}?tls=false`,
  );
  try {
    const result = await store.append('city-cluj', [ev('CityRegistered')]);
    const read: RecordedEvent[] = await collect(store.readStream('city-cluj'));
    assert.is(read[0]!.position, result.position);
  } finally {
    await store.close();
    await server.stop();
  }
});

cluster('reports an unreachable server as UnavailableError', async () => {
  const server = await startEsdbTestServer();
  const url = server.url;
  await server.stop();
  const store = createEsdbEventStore(url);
  try {
    await store.ping();
    assert.unreachable('ping should fail');
  } catch (error) {
    assert.instance(error, UnavailableError);
  } finally {
    await store.close();
  }
});

cluster.run();
