import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { eventHash } from '../../src/audit/hashChain.js';
import { verifyChains } from '../../src/audit/verify.js';
import { createMemoryEventStore } from '../../src/eventStore/memory.js';
import type { EventStore, ReadAllOptions, RecordedEvent } from '../../src/eventStore/port.js';
import { appendFixture, seedAuditFixture } from '../support/auditFixtures.js';

/** The same store, but its feed passes through `tamper` (what an attacker with file access could do). */
function tampered(store: EventStore, tamper: (events: RecordedEvent[]) => RecordedEvent[]): EventStore {
  return {
    ...store,
    headPosition: () => store.headPosition(),
    async *readAll(options?: ReadAllOptions) {
      const events: RecordedEvent[] = [];
      for await (const e of store.readAll(options)) events.push(e);
      yield* tamper(events);
    },
  };
}

const B1 = 'building-cluj-napoca.b-1';
const onlyB1 = (events: RecordedEvent[]) => events.filter((e) => e.stream === B1);

const test = suite<{ store: EventStore }>('hash chain verification', {
  store: undefined as unknown as EventStore,
});
test.before.each(async (ctx) => {
  ctx.store = createMemoryEventStore();
  await seedAuditFixture(ctx.store);
});
test.after.each(async (ctx) => {
  await ctx.store.close();
});

test('an untouched city verifies, counting its streams and events only', async ({ store }) => {
  const report = await verifyChains(store, { city: 'cluj-napoca' });
  assert.ok(report.ok);
  assert.is(report.streamsChecked, 2);
  assert.is(report.eventsChecked, 4);
  assert.equal(report.broken, []);
  assert.is(report.headPosition, '5');
  assert.is((await verifyChains(store)).eventsChecked, 5);
});

test('an edited event is found at its revision as a hash mismatch', async ({ store }) => {
  const evil = tampered(store, (events) =>
    events.map((e) =>
      e.stream === B1 && e.revision === 1 ? { ...e, data: { ...(e.data as object), energyClass: 'A' } } : e,
    ),
  );
  const report = await verifyChains(evil, { city: 'cluj-napoca' });
  assert.not.ok(report.ok);
  assert.is(report.broken.length, 1);
  assert.is(report.broken[0]!.stream, B1);
  assert.is(report.broken[0]!.revision, 1);
  assert.is(report.broken[0]!.problem, 'hash-mismatch');
});

test('an edited metadata field (the actor) breaks the chain too', async ({ store }) => {
  const evil = tampered(store, (events) =>
    events.map((e) =>
      e.stream === B1 && e.revision === 2 ? { ...e, metadata: { ...e.metadata, actor: 'x' } } : e,
    ),
  );
  const [link] = (await verifyChains(evil, { city: 'cluj-napoca' })).broken;
  assert.is(link?.revision, 2);
  assert.is(link?.problem, 'hash-mismatch');
});

test('an edit whose own hash was recomputed is caught by the next link', async ({ store }) => {
  const evil = tampered(store, (events) =>
    events.map((e) => {
      if (e.stream !== B1 || e.revision !== 1) return e;
      const forged = { ...e, data: { ...(e.data as object), energyClass: 'A' } };
      return { ...forged, metadata: { ...forged.metadata, hash: eventHash(forged) } };
    }),
  );
  const [link] = (await verifyChains(evil, { city: 'cluj-napoca' })).broken;
  assert.is(link?.revision, 2);
  assert.is(link?.problem, 'prev-hash-mismatch');
});

test('a deleted event is found as a revision gap at the missing revision', async ({ store }) => {
  const middle = await verifyChains(
    tampered(store, (events) => events.filter((e) => !(e.stream === B1 && e.revision === 1))),
    { city: 'cluj-napoca' },
  );
  assert.equal(
    middle.broken.map((b) => [b.stream, b.revision, b.problem, b.foundRevision]),
    [[B1, 1, 'revision-gap', 2]],
  );
  const first = await verifyChains(
    tampered(store, (events) => events.filter((e) => !(e.stream === B1 && e.revision === 0))),
    { city: 'cluj-napoca' },
  );
  assert.is(first.broken[0]?.revision, 0);
  assert.is(first.broken[0]?.problem, 'revision-gap');
});

test('a deleted event whose successors were renumbered is found by the previous-hash link', async ({
  store,
}) => {
  const evil = tampered(store, (events) =>
    events
      .filter((e) => !(e.stream === B1 && e.revision === 1))
      .map((e) => (e.stream === B1 && e.revision === 2 ? { ...e, revision: 1 } : e)),
  );
  const [link] = (await verifyChains(evil, { city: 'cluj-napoca' })).broken;
  assert.is(link?.revision, 1);
  assert.ok(link?.problem === 'prev-hash-mismatch' || link?.problem === 'hash-mismatch');
});

test('reordered events are found', async ({ store }) => {
  const evil = tampered(store, (events) => {
    const b1 = onlyB1(events);
    return [b1[0]!, b1[2]!, b1[1]!];
  });
  const [link] = (await verifyChains(evil, { city: 'cluj-napoca' })).broken;
  assert.is(link?.stream, B1);
  assert.is(link?.revision, 1);
});

test('an unsealed event is reported as missing its hash', async ({ store }) => {
  await store.append('grid-cluj-napoca.n-1', [
    {
      id: '10000000-0000-4000-8000-000000000001',
      type: 'GridNodeAdded',
      data: {},
      metadata: {
        actor: 'a',
        source: 's',
        occurredAt: '2026-01-01T00:00:00Z',
        correlationId: 'c',
        causationId: null,
      },
    },
  ]);
  const report = await verifyChains(store, { city: 'cluj-napoca' });
  assert.equal(
    report.broken.map((b) => [b.stream, b.problem]),
    [['grid-cluj-napoca.n-1', 'missing-hash']],
  );
});

test("the digest changes when a stream's last event is cut off, which the chain alone cannot show", async ({
  store,
}) => {
  const before = await verifyChains(store, { city: 'cluj-napoca' });
  const cut = await verifyChains(
    tampered(store, (events) => events.filter((e) => !(e.stream === B1 && e.revision === 2))),
    { city: 'cluj-napoca' },
  );
  assert.ok(cut.ok);
  assert.is.not(cut.digest, before.digest);
  await appendFixture(
    store,
    'building-suceava.b-9',
    'BuildingDemolished',
    {},
    {
      actor: 'a',
      source: 's',
      occurredAt: '2026-04-01T00:00:00Z',
      correlationId: 'c',
    },
  );
  assert.is((await verifyChains(store, { city: 'cluj-napoca' })).digest, before.digest);
});

test.run();
