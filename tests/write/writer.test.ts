import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { eventHash, GENESIS_HASH } from '../../src/audit/hashChain.js';
import { fixedClock } from '../../src/core/clock.js';
import { ConflictError, DomainRuleError, ValidationError } from '../../src/core/errors.js';
import { evolveState } from '../../src/domain/writeState.js';
import { createMemoryEventStore } from '../../src/eventStore/memory.js';
import type { EventStore, RecordedEvent } from '../../src/eventStore/port.js';
import { createSqliteEventStore } from '../../src/eventStore/sqlite.js';
import { createStoreStateLoader, type StateLoader } from '../../src/write/stateLoader.js';
import type { WriteContext } from '../../src/write/types.js';
import { createWriter, type Writer } from '../../src/write/writer.js';
import { buildingRegistered, caught, squareCityRegistered, tempDir, testId } from './fixtures.js';

const CITY = 'testville';
const ctx: WriteContext = {
  actor: 'key:ops-1',
  source: 'test-suite',
  correlationId: 'corr-1',
  reason: 'survey 2026',
};

async function readAll(store: EventStore): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const e of store.readAll()) events.push(e);
  return events;
}

function setup() {
  const store = createMemoryEventStore();
  const clock = fixedClock('2026-06-01T12:00:00Z');
  const writer = createWriter({ store, clock });
  return { store, clock, writer };
}

async function withCity(writer: Writer) {
  await writer.appendBatch(CITY, [{ ...squareCityRegistered, id: testId('city') }], ctx);
}

const pipeline = suite('write pipeline');

pipeline('appends a batch with full provenance and returns each event where it landed', async () => {
  const { store, writer } = setup();
  await withCity(writer);
  const result = await writer.appendBatch(
    CITY,
    [
      { ...buildingRegistered('b-1'), id: testId('b-1'), occurredAt: '2026-05-30T08:00:00Z' },
      { ...buildingRegistered('b-2'), id: testId('b-2'), reason: 'own reason' },
    ],
    { ...ctx, causationId: 'cause-9' },
  );
  assert.is(result.appended, 2);
  assert.equal(
    result.results.map((r) => [r.index, r.id, r.stream, r.revision, r.duplicate]),
    [
      [0, testId('b-1'), 'building-testville.b-1', 0, false],
      [1, testId('b-2'), 'building-testville.b-2', 0, false],
    ],
  );
  const stored = await readAll(store);
  const b1 = stored.find((e) => e.id === testId('b-1'))!;
  assert.is(result.results[0]!.position, b1.position.toString());
  assert.equal(
    { ...b1.metadata, hash: undefined, prevHash: undefined },
    {
      actor: 'key:ops-1',
      source: 'test-suite',
      occurredAt: '2026-05-30T08:00:00Z',
      correlationId: 'corr-1',
      causationId: 'cause-9',
      reason: 'survey 2026',
      hash: undefined,
      prevHash: undefined,
    },
  );
  const b2 = stored.find((e) => e.id === testId('b-2'))!;
  assert.is(b2.metadata.reason, 'own reason');
  assert.is(b2.metadata.occurredAt, '2026-06-01T12:00:00.000Z');
});

pipeline('seals every stream into a hash chain starting at genesis', async () => {
  const { store, writer } = setup();
  await withCity(writer);
  await writer.appendBatch(CITY, [buildingRegistered('b-1')], ctx);
  await writer.appendBatch(
    CITY,
    [
      { type: 'RooftopPvInstalled', entityId: 'b-1', data: { kWp: 12 } },
      { type: 'BuildingDemolished', entityId: 'b-1', data: {} },
    ],
    ctx,
  );
  const events: RecordedEvent[] = [];
  for await (const e of store.readStream('building-testville.b-1')) events.push(e);
  assert.is(events.length, 3);
  let previous = GENESIS_HASH;
  for (const e of events) {
    assert.is(e.metadata.prevHash, previous);
    assert.is(e.metadata.hash, eventHash(e));
    previous = e.metadata.hash as string;
  }
});

pipeline('a bad item at index 7 appends nothing and names index 7, its field and value', async () => {
  const { store, writer } = setup();
  await withCity(writer);
  const before = await store.headPosition();
  const items: unknown[] = Array.from({ length: 10 }, (_, i) => buildingRegistered(`b-${i}`));
  const bad = buildingRegistered('b-7');
  (bad.data as { floors: unknown }).floors = -3;
  items[7] = bad;
  const err = await caught(writer.appendBatch(CITY, items, ctx));
  assert.instance(err, ValidationError);
  assert.equal(err.issues[0], { index: 7, field: 'data.floors', value: -3, message: err.issues[0]!.message });
  assert.match(err.message, /index 7/);
  assert.is(await store.headPosition(), before);
});

pipeline(
  'a domain rule broken at index 7 appends nothing and names index 7, its field and value',
  async () => {
    const { store, writer } = setup();
    await withCity(writer);
    const before = await store.headPosition();
    const items: unknown[] = Array.from({ length: 10 }, (_, i) => buildingRegistered(`b-${i}`));
    items[7] = buildingRegistered('b-7', 26.1, 44.45, 'atlantis');
    const err = await caught(writer.appendBatch(CITY, items, ctx));
    assert.instance(err, DomainRuleError);
    assert.equal(err.issues[0]!.index, 7);
    assert.is(err.issues[0]!.field, 'data.district');
    assert.is(err.issues[0]!.value, 'atlantis');
    assert.is(await store.headPosition(), before);
  },
);

pipeline('a retry of the same batch writes nothing twice and answers with the original results', async () => {
  const { store, writer } = setup();
  await withCity(writer);
  const batch = [
    { ...buildingRegistered('b-1'), id: testId('r-1') },
    { type: 'RooftopPvInstalled', entityId: 'b-1', data: { kWp: 5 }, id: testId('r-2') },
  ];
  const first = await writer.appendBatch(CITY, batch, ctx);
  const head = await store.headPosition();
  const again = await writer.appendBatch(CITY, batch, ctx);
  assert.is(again.appended, 0);
  assert.equal(
    again.results.map((r) => ({ ...r, duplicate: false })),
    first.results,
  );
  assert.ok(again.results.every((r) => r.duplicate));
  assert.is(await store.headPosition(), head);
});

pipeline('a retry completes a batch whose first part is already stored', async () => {
  const { store, writer } = setup();
  await withCity(writer);
  const batch = [
    { ...buildingRegistered('b-1'), id: testId('p-1') },
    { ...buildingRegistered('b-2'), id: testId('p-2') },
  ];
  await writer.appendBatch(CITY, batch.slice(0, 1), ctx);
  const out = await writer.appendBatch(CITY, batch, ctx);
  assert.equal(
    out.results.map((r) => r.duplicate),
    [true, false],
  );
  assert.is((await readAll(store)).length, 3);
});

pipeline('decides items in order against the state the batch itself builds', async () => {
  const { writer } = setup();
  await withCity(writer);
  const node = (id: string) => ({
    type: 'GridNodeAdded',
    entityId: id,
    data: {
      network: 'electricity',
      nodeKind: 'transformer',
      location: { type: 'Point', coordinates: [26.1, 44.45] },
    },
  });
  const out = await writer.appendBatch(
    CITY,
    [
      node('n-1'),
      node('n-2'),
      {
        type: 'GridLinkAdded',
        entityId: 'l-1',
        data: {
          network: 'electricity',
          fromNode: 'n-1',
          toNode: 'n-2',
          capacityKw: 630,
          path: {
            type: 'LineString',
            coordinates: [
              [26.1, 44.45],
              [26.1, 44.46],
            ],
          },
        },
      },
    ],
    ctx,
  );
  assert.is(out.appended, 3);
  const err = await caught(
    writer.appendBatch(
      CITY,
      [
        buildingRegistered('b-9'),
        { type: 'BuildingDemolished', entityId: 'b-9', data: {} },
        { type: 'RooftopPvInstalled', entityId: 'b-9', data: { kWp: 3 } },
      ],
      ctx,
    ),
  );
  assert.equal([err.issues[0]!.index, err.issues[0]!.field], [2, 'entityId']);
});

pipeline('returns the exact position of each of several events appended to one stream', async () => {
  const { store, writer } = setup();
  await withCity(writer);
  const out = await writer.appendBatch(
    CITY,
    [
      buildingRegistered('b-1'),
      buildingRegistered('b-2'),
      { type: 'RooftopPvInstalled', entityId: 'b-1', data: { kWp: 3 } },
    ],
    ctx,
  );
  const stored = new Map((await readAll(store)).map((e) => [e.id, e.position.toString()]));
  for (const r of out.results) assert.is(r.position, stored.get(r.id));
});

pipeline(
  'rejects unknown fields, unknown types, a missing entityId and a repeated id, naming each',
  async () => {
    const { writer } = setup();
    await withCity(writer);
    const unknownField = await caught(
      writer.appendBatch(CITY, [{ ...buildingRegistered('b-1'), colour: 'red' }], ctx),
    );
    assert.equal([unknownField.issues[0]!.field, unknownField.issues[0]!.value], ['colour', 'red']);
    const unknownType = await caught(
      writer.appendBatch(CITY, [{ type: 'BuildingPainted', entityId: 'b', data: {} }], ctx),
    );
    assert.equal([unknownType.issues[0]!.field, unknownType.issues[0]!.value], ['type', 'BuildingPainted']);
    const { entityId: _e, ...noEntity } = buildingRegistered('b-1');
    const missing = await caught(writer.appendBatch(CITY, [noEntity], ctx));
    assert.is(missing.issues[0]!.field, 'entityId');
    const twice = await caught(
      writer.appendBatch(
        CITY,
        [
          { ...buildingRegistered('b-1'), id: testId('same') },
          { ...buildingRegistered('b-2'), id: testId('same') },
        ],
        ctx,
      ),
    );
    assert.equal([twice.issues[0]!.index, twice.issues[0]!.field], [1, 'id']);
  },
);

pipeline('rejects an id already used by an event of another type', async () => {
  const { writer } = setup();
  await withCity(writer);
  await writer.appendBatch(CITY, [{ ...buildingRegistered('b-1'), id: testId('x') }], ctx);
  const err = await caught(
    writer.appendBatch(
      CITY,
      [{ type: 'BuildingDemolished', entityId: 'b-1', data: {}, id: testId('x') }],
      ctx,
    ),
  );
  assert.instance(err, ConflictError);
});

pipeline('rejects an event occurring in the future and a city id that is not a slug', async () => {
  const { writer } = setup();
  await withCity(writer);
  const future = await caught(
    writer.appendBatch(CITY, [{ ...buildingRegistered('b-1'), occurredAt: '2030-01-01T00:00:00Z' }], ctx),
  );
  assert.equal([future.issues[0]!.field, future.issues[0]!.value], ['occurredAt', '2030-01-01T00:00:00Z']);
  const city = await caught(writer.appendBatch('Cluj Napoca', [squareCityRegistered], ctx));
  assert.equal([city.issues[0]!.field, city.issues[0]!.value], ['city', 'Cluj Napoca']);
});

pipeline('re-decides after a concurrent append to the same stream, against the new state', async () => {
  const inner = createMemoryEventStore();
  const clock = fixedClock('2026-06-01T12:00:00Z');
  const other = createWriter({ store: inner, clock });
  let interfere: (() => Promise<unknown>) | undefined;
  const racing: EventStore = Object.create(inner, {
    appendMany: {
      value: async (writes: Parameters<EventStore['appendMany']>[0]) => {
        const once = interfere;
        interfere = undefined;
        if (once) await once();
        return inner.appendMany(writes);
      },
    },
  });
  const writer = createWriter({ store: racing, clock });
  await withCity(other);
  await other.appendBatch(CITY, [buildingRegistered('b-1')], ctx);

  interfere = () =>
    other.appendBatch(CITY, [{ type: 'RooftopPvInstalled', entityId: 'b-1', data: { kWp: 4 } }], ctx);
  const out = await writer.appendBatch(
    CITY,
    [{ type: 'RooftopPvInstalled', entityId: 'b-1', data: { kWp: 8 } }],
    ctx,
  );
  assert.is(out.results[0]!.revision, 2, 'landed after the concurrent event');

  interfere = () => other.appendBatch(CITY, [{ type: 'BuildingDemolished', entityId: 'b-1', data: {} }], ctx);
  const err = await caught(
    writer.appendBatch(CITY, [{ type: 'RooftopPvInstalled', entityId: 'b-1', data: { kWp: 1 } }], ctx),
  );
  assert.instance(err, DomainRuleError, 'the retry saw the demolition');
});

pipeline('sees what another writer appended to a stream it has written before', async () => {
  const { store, clock, writer } = setup();
  const other = createWriter({ store, clock });
  await withCity(writer);
  await writer.appendBatch(CITY, [buildingRegistered('b-1')], ctx);
  await other.appendBatch(CITY, [{ type: 'BuildingDemolished', entityId: 'b-1', data: {} }], ctx);
  const err = await caught(
    writer.appendBatch(CITY, [{ type: 'RooftopPvInstalled', entityId: 'b-1', data: { kWp: 2 } }], ctx),
  );
  assert.instance(err, DomainRuleError);
  await other.appendBatch(CITY, [buildingRegistered('b-2')], ctx);
  const next = await writer.appendBatch(
    CITY,
    [{ type: 'RooftopPvInstalled', entityId: 'b-2', data: { kWp: 2 } }],
    ctx,
  );
  assert.is(next.results[0]!.revision, 1);
  const again = await writer.appendBatch(CITY, [buildingRegistered('b-2')], ctx).catch((e: unknown) => e);
  assert.instance(again, DomainRuleError, 'b-2 is known to be registered');
});

pipeline('plans against the states a custom loader supplies, appending nothing', async () => {
  const { store, writer } = setup();
  await withCity(writer);
  await writer.appendBatch(CITY, [buildingRegistered('b-1')], ctx);
  const head = await store.headPosition();
  // A what-if overlay in which b-1 was demolished: the real stream plus one overlay event.
  const real = createStoreStateLoader(store);
  const overlay: StateLoader = {
    async load(stream, kind) {
      const loaded = await real.load(stream, kind);
      if (stream !== 'building-testville.b-1') return loaded;
      return { ...loaded, state: evolveState(loaded.state, { type: 'BuildingDemolished', data: {} }) };
    },
  };
  const pv = { type: 'RooftopPvInstalled', entityId: 'b-1', data: { kWp: 6 } };
  const plan = await writer.planBatch(CITY, [pv], ctx);
  assert.is(plan.writes[0]!.events[0]!.type, 'RooftopPvInstalled');
  const err = await caught(writer.planBatch(CITY, [pv], ctx, overlay));
  assert.instance(err, DomainRuleError);
  assert.is(await store.headPosition(), head);
});

pipeline(
  'a retry completes a batch a non-atomic store left half written, writing nothing twice',
  async () => {
    // EventStoreDB appends a multi-stream batch stream by stream: simulate a failure after the first stream.
    const inner = createMemoryEventStore();
    let failAfterFirst = true;
    const partial: EventStore = Object.create(inner, {
      capabilities: { value: { atomicMultiStreamAppend: false } },
      appendMany: {
        value: async (writes: Parameters<EventStore['appendMany']>[0]) => {
          const results = [];
          for (const [i, write] of writes.entries()) {
            if (failAfterFirst && i === 1) {
              failAfterFirst = false;
              throw new Error('connection reset');
            }
            results.push(
              await inner.append(write.stream, write.events, {
                expectedRevision: write.expectedRevision ?? 'any',
              }),
            );
          }
          return results;
        },
      },
    });
    const writer = createWriter({ store: partial, clock: fixedClock('2026-06-01T12:00:00Z') });
    await withCity(writer);
    const node = (id: string) => ({
      id: testId(`half-${id}`),
      type: 'GridNodeAdded',
      entityId: id,
      data: { network: 'gas', nodeKind: 'junction', location: { type: 'Point', coordinates: [26.1, 44.45] } },
    });
    const batch = [
      node('g-1'),
      node('g-2'),
      {
        id: testId('half-link'),
        type: 'GridLinkAdded',
        entityId: 'gl-1',
        data: {
          network: 'gas',
          fromNode: 'g-1',
          toNode: 'g-2',
          capacityKw: 900,
          path: {
            type: 'LineString',
            coordinates: [
              [26.1, 44.45],
              [26.11, 44.45],
            ],
          },
        },
      },
    ];
    const failed = await writer.appendBatch(CITY, batch, ctx).catch((e: unknown) => e);
    assert.instance(failed, Error);
    assert.is((await readAll(inner)).length, 2, 'the city and the first stream landed');
    const retried = await writer.appendBatch(CITY, batch, ctx);
    assert.equal(
      retried.results.map((r) => r.duplicate),
      [true, false, false],
    );
    const stored = await readAll(inner);
    assert.is(stored.length, 4);
    assert.is(new Set(stored.map((e) => e.id)).size, 4);
  },
);

pipeline(
  'batches sent side by side take turns: none is decided against a state another is changing',
  async () => {
    const store = createMemoryEventStore();
    // No retry on a conflict: a batch decided against a stale state would fail
    const writer = createWriter({ store, clock: fixedClock('2026-06-01T12:00:00Z'), maxAttempts: 1 });
    await withCity(writer);
    await writer.appendBatch(CITY, [buildingRegistered('b-1')], ctx);
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        writer.appendBatch(
          CITY,
          [{ type: 'RooftopPvInstalled', entityId: 'b-1', data: { kWp: i + 1 } }],
          ctx,
        ),
      ),
    );
    // in the order they were sent, each on top of the previous one
    assert.equal(
      outcomes.map((o) => o.results[0]!.revision),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    const kWp: unknown[] = [];
    for await (const e of store.readStream('building-testville.b-1', { fromRevision: 1 })) {
      kWp.push((e.data as { kWp: number }).kWp);
    }
    assert.equal(kWp, [1, 2, 3, 4, 5, 6, 7, 8]);
  },
);

pipeline('sees what another process appended to the same SQLite file', async () => {
  const tmp = tempDir('urban-twin-writer-');
  const file = join(tmp.dir, 'events.sqlite');
  const clock = fixedClock('2026-06-01T12:00:00Z');
  // Two connections to one file, as the server and the import CLI have.
  const server = createSqliteEventStore(file);
  const cli = createSqliteEventStore(file);
  try {
    const serverWriter = createWriter({ store: server, clock });
    const cliWriter = createWriter({ store: cli, clock });
    await withCity(serverWriter);
    await serverWriter.appendBatch(CITY, [buildingRegistered('b-1')], ctx);
    await cliWriter.appendBatch(CITY, [{ type: 'BuildingDemolished', entityId: 'b-1', data: {} }], ctx);
    const err = await caught(
      serverWriter.appendBatch(
        CITY,
        [{ type: 'RooftopPvInstalled', entityId: 'b-1', data: { kWp: 2 } }],
        ctx,
      ),
    );
    assert.instance(err, DomainRuleError);
  } finally {
    await server.close();
    await cli.close();
    tmp.cleanup();
  }
});

pipeline('recognises a retry after the SQLite store was closed and reopened', async () => {
  const tmp = tempDir('urban-twin-writer-');
  const file = join(tmp.dir, 'events.sqlite');
  const clock = fixedClock('2026-06-01T12:00:00Z');
  const batch = [{ ...buildingRegistered('b-1'), id: testId('reopen-1') }];
  try {
    const first = createSqliteEventStore(file);
    const writer = createWriter({ store: first, clock });
    await withCity(writer);
    const original = await writer.appendBatch(CITY, batch, ctx);
    await first.close();

    const reopened = createSqliteEventStore(file);
    const again = await createWriter({ store: reopened, clock }).appendBatch(CITY, batch, ctx);
    assert.equal(again.results[0]!.position, original.results[0]!.position);
    assert.ok(again.results[0]!.duplicate);
    assert.is((await readAll(reopened)).length, 2);
    await reopened.close();
  } finally {
    tmp.cleanup();
  }
});

pipeline.run();
