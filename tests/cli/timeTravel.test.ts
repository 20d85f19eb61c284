import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { registerTimeTravelCommands } from '../../src/cli/commands/timeTravel.js';
import { fixedClock } from '../../src/core/clock.js';
import { createSqliteEventStore } from '../../src/eventStore/sqlite.js';
import { appendSeededCity } from '../support/seededHistory.js';

interface Ctx {
  dir: string;
  out: string[];
  err: string[];
  pastDate: string;
  run(...args: string[]): Promise<void>;
}

const cli = suite<Ctx>('twin replay and twin scenario', {} as Ctx);

cli.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'urban-twin-tt-cli-'));
  const clock = fixedClock('2026-03-01T08:00:00.000Z');
  const store = createSqliteEventStore(join(ctx.dir, 'events.sqlite'), { now: () => clock.now() });
  await appendSeededCity(store, clock, 'suceava', { scale: 0.2, batchSize: 100 });
  // Half way through the recorded history: part of the city is known, part is not yet.
  ctx.pastDate = new Date(Date.parse('2026-03-01T08:00:00.000Z') + 150_000).toISOString();
  await store.close();
  ctx.run = async (...args) => {
    ctx.out = [];
    ctx.err = [];
    const program = new Command('twin').exitOverride();
    program.configureOutput({ writeOut: () => {}, writeErr: () => {} });
    registerTimeTravelCommands(program, {
      env: { EVENT_STORE: 'sqlite', DATA_DIR: ctx.dir, TIME_TRAVEL_SNAPSHOT_EVERY: '100' },
      io: { out: (t) => ctx.out.push(t), err: (t) => ctx.err.push(t) },
    });
    await program.parseAsync(['node', 'twin', ...args]);
  };
});

cli.after((ctx) => {
  rmSync(ctx.dir, { recursive: true, force: true });
});

cli('replay prints the KPIs as of a time and writes each layer as a GeoJSON file', async (ctx) => {
  const count = (dir: string, layer: string) => {
    const fc = JSON.parse(readFileSync(join(dir, `suceava-${layer}.geojson`), 'utf8'));
    assert.is(fc.type, 'FeatureCollection');
    return fc.features.length as number;
  };
  const then = join(ctx.dir, 'then');
  await ctx.run('replay', '--city', 'suceava', '--at', ctx.pastDate, '--out', then, '--json');
  const printed = JSON.parse(ctx.out.join(''));
  assert.is(printed.asOf.at, ctx.pastDate);
  assert.ok(printed.kpis.city.co2eTonnesPerYear > 0);
  const now = join(ctx.dir, 'now');
  await ctx.run('replay', '--city', 'suceava', '--out', now);
  assert.match(ctx.out.join(''), /co2eTonnesPerYear/);
  for (const layer of ['buildings', 'mobility', 'grid']) {
    assert.ok(existsSync(join(then, `suceava-${layer}.geojson`)), layer);
    assert.ok(count(now, layer) > 0, `${layer} has features now`);
  }
  assert.ok(count(then, 'buildings') > 0);
  assert.ok(
    count(then, 'buildings') + count(then, 'grid') + count(then, 'mobility') <
      count(now, 'buildings') + count(now, 'grid') + count(now, 'mobility'),
    'half way through, less of the city was known',
  );
  await ctx.run('replay', '--city', 'suceava', '--position', '5');
  assert.match(ctx.out.join(''), /as of position 5/);
});

cli(
  'a planner scripts a study: create, apply a retrofit, compare CO2e per district, list, archive',
  async (ctx) => {
    await ctx.run('scenario', 'create', '--city', 'suceava', '--name', 'panel blocks', '--at', ctx.pastDate);
    const id = ctx.out.join('').trim();
    assert.match(id, /^[0-9a-f-]{36}$/);

    const dir = join(ctx.dir, 'fork');
    await ctx.run('replay', '--city', 'suceava', '--at', ctx.pastDate, '--json', '--out', dir);
    const districts = Object.keys(JSON.parse(ctx.out.join('')).kpis.districts);
    // The district with the most pre-1990 buildings known at the fork.
    const buildings = JSON.parse(readFileSync(join(dir, 'suceava-buildings.geojson'), 'utf8')).features as {
      properties: { district: string; yearBuilt: number };
    }[];
    const old = new Map<string, number>();
    for (const b of buildings) {
      if (b.properties.yearBuilt <= 1989)
        old.set(b.properties.district, (old.get(b.properties.district) ?? 0) + 1);
    }
    const [district, blocks] = [...old].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]!;
    const opFile = join(ctx.dir, 'retrofit.json');
    writeFileSync(
      opFile,
      JSON.stringify({
        type: 'retrofit',
        filter: { district, yearBuilt: { to: 1989 } },
        measures: ['wall-insulation', 'windows'],
        expectedSavingsPercent: 35,
      }),
    );
    await ctx.run('scenario', 'apply', id, opFile);
    const applied = Number(/retrofit: (\d+) events/.exec(ctx.out.join(''))?.[1]);
    assert.is(applied, blocks, ctx.out.join(''));

    await ctx.run('scenario', 'compare', id, '--json');
    const compared = JSON.parse(ctx.out.join(''));
    assert.ok(compared.kpis.districts[district].co2eTonnesPerYear.delta < 0);
    for (const other of districts.filter((d) => d !== district)) {
      assert.is(compared.kpis.districts[other].co2eTonnesPerYear.delta, 0);
    }
    await ctx.run('scenario', 'compare', id);
    const table = ctx.out.join('');
    assert.match(table, /co2eTonnesPerYear/);
    assert.match(table, new RegExp(`${district}\\s+[\\d,.]+\\s+[\\d,.]+\\s+-[\\d,.]+\\s+-[\\d.]+%`));

    await ctx.run('scenario', 'list', '--city', 'suceava');
    assert.match(ctx.out.join(''), new RegExp(`${id}\\s+suceava\\s+frozen\\s+active\\s+panel blocks`));
    await ctx.run('scenario', 'archive', id);
    await ctx.run('scenario', 'list');
    assert.match(ctx.out.join(''), new RegExp(`${id}.*archived`));
  },
);

cli('a bad time is refused naming the option and value', async (ctx) => {
  try {
    await ctx.run('replay', '--city', 'suceava', '--at', 'noon');
    assert.unreachable();
  } catch (err) {
    assert.match(String((err as Error).message), /at/);
    assert.match(String((err as Error).message), /noon/);
  }
});

cli.run();
