import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { generateCity } from '../../seeds/generate.js';
import { cityExists, SEED_ACTOR, SEED_SOURCE, seedCities } from '../../seeds/seedCities.js';
import { fixedClock } from '../../src/core/clock.js';
import type { EventStore } from '../../src/eventStore/port.js';
import { createSqliteEventStore } from '../../src/eventStore/sqlite.js';

const Seed = suite<{ dir: string; store: EventStore }>(
  'seed loader (through the write pipeline, real SQLite)',
);
Seed.before((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'twin-seed-'));
  ctx.store = createSqliteEventStore(join(ctx.dir, 'events.sqlite'));
});
Seed.after(async (ctx) => {
  await ctx.store.close();
  rmSync(ctx.dir, { recursive: true, force: true });
});

const clock = fixedClock('2026-11-01T12:00:00.000Z');
const scale = 0.1;

Seed(
  'an empty store gets every generated event of the three cities, as system:seed from source seed',
  async ({ store }) => {
    const progress: number[] = [];
    const results = await seedCities({
      store,
      clock,
      scale,
      batchSize: 400,
      onProgress: (p) => progress.push(p.done),
    });
    assert.equal(
      results.map((r) => r.city),
      ['bucharest', 'cluj-napoca', 'suceava'],
    );
    let total = 0;
    for (const r of results) {
      const expected = generateCity(r.city, { scale }).length;
      assert.is(r.generated, expected);
      assert.is(r.appended, expected, `${r.city}: every generated event is accepted by the domain rules`);
      assert.not.ok(r.skipped);
      total += expected;
    }
    assert.ok(progress.length >= 3);
    let stored = 0;
    for await (const e of store.readAll()) {
      stored++;
      assert.is(e.metadata.actor, SEED_ACTOR);
      assert.is(e.metadata.source, SEED_SOURCE);
    }
    assert.is(stored, total);
    assert.ok(await cityExists(store, 'suceava'));
  },
);

Seed('a restart seeds nothing again: existing cities are skipped', async ({ store }) => {
  const head = await store.headPosition();
  const results = await seedCities({ store, clock, scale });
  assert.ok(results.every((r) => r.skipped && r.appended === 0));
  assert.is(await store.headPosition(), head);
});

Seed('a forced re-seed appends nothing either: the event ids are deterministic', async ({ store }) => {
  const head = await store.headPosition();
  const [result] = await seedCities({ store, clock, scale, cities: ['suceava'], force: true });
  assert.is(result!.appended, 0);
  assert.ok(result!.generated > 0);
  assert.is(await store.headPosition(), head);
});

Seed.run();
