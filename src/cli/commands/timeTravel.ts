import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { newId } from '../../core/ids.js';
import type { DeltaTree, KpiDelta } from '../../scenarios/compare.js';
import { ScenarioService } from '../../scenarios/service.js';
import { type AsOf, parseInstant, parsePosition } from '../../timeTravel/asOf.js';
import { createCityTimeTravel } from '../../timeTravel/cityTwinAdapter.js';
import type { TimeTravel } from '../../timeTravel/timeTravel.js';
import { LAYERS } from '../../twin/changes.js';
import type { CityTwin } from '../../twin/cityTwin.js';
import { type CliContext, type CliOutput, cliActor, stdio, withCliContext } from '../context.js';

/** Time travel and scenarios over the server's store, with the same index and snapshots (in DATA_DIR). */
function services(ctx: CliContext): { timeTravel: TimeTravel<CityTwin>; scenarios: ScenarioService } {
  const timeTravel = createCityTimeTravel({
    store: ctx.store,
    ...(ctx.config.EVENT_STORE === 'memory' ? {} : { dir: join(ctx.config.DATA_DIR, 'time-travel') }),
    snapshotEvery: ctx.config.TIME_TRAVEL_SNAPSHOT_EVERY,
  });
  return { timeTravel, scenarios: new ScenarioService({ store: ctx.store, clock: ctx.clock, timeTravel }) };
}

const fmt = (v: number | null | undefined, digits = 1) =>
  v === null || v === undefined ? '-' : v.toLocaleString('en', { maximumFractionDigits: digits });

/** Prints the city KPIs and the CO2e per district as aligned text. */
function kpiTable(values: ReturnType<CityTwin['kpis']>): string {
  const kpis = values as unknown as {
    city: Record<string, unknown>;
    districts: Record<string, Record<string, unknown>>;
  };
  const lines: string[] = [];
  for (const [k, v] of Object.entries(kpis.city)) {
    if (typeof v === 'number') lines.push(`  ${k.padEnd(44)} ${fmt(v, 3).padStart(16)}`);
  }
  lines.push('', `  ${'district'.padEnd(28)} ${'CO2e t/yr'.padStart(14)} ${'final MWh/yr'.padStart(14)}`);
  for (const [id, d] of Object.entries(kpis.districts)) {
    const energy = d.finalEnergyMWhPerYear as { total?: number } | undefined;
    const final = typeof energy?.total === 'number' ? energy.total : null;
    lines.push(
      `  ${id.padEnd(28)} ${fmt(d.co2eTonnesPerYear as number).padStart(14)} ${fmt(final).padStart(14)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Prints the CO2e (or another KPI) of each district, scenario beside real, with the deltas. */
function compareTable(kpis: DeltaTree, kpi: string): string {
  const row = (name: string, d: KpiDelta | undefined) =>
    `  ${name.padEnd(28)} ${fmt(d?.scenario).padStart(14)} ${fmt(d?.real).padStart(14)} ${fmt(d?.delta).padStart(12)} ${(d?.deltaPercent === null || d?.deltaPercent === undefined ? '-' : `${fmt(d.deltaPercent, 2)}%`).padStart(10)}`;
  const lines = [
    `  ${kpi}`,
    `  ${'district'.padEnd(28)} ${'scenario'.padStart(14)} ${'real'.padStart(14)} ${'delta'.padStart(12)} ${'delta %'.padStart(10)}`,
  ];
  const districts = (kpis.districts ?? {}) as DeltaTree;
  for (const [id, d] of Object.entries(districts))
    lines.push(row(id, (d as DeltaTree)[kpi] as KpiDelta | undefined));
  lines.push(row('(city)', (kpis.city as DeltaTree | undefined)?.[kpi] as KpiDelta | undefined));
  return `${lines.join('\n')}\n`;
}

function asOfFrom(flags: { at?: string; position?: string; validAt?: string }): AsOf {
  if (flags.at && flags.position) throw new InvalidArgumentError('give --at or --position, not both');
  const asOf: AsOf = {};
  if (flags.at) asOf.at = parseInstant(flags.at, 'at');
  if (flags.position) asOf.position = parsePosition(flags.position, 'position');
  if (flags.validAt) asOf.validAt = parseInstant(flags.validAt, 'validAt');
  return asOf;
}

/**
 * `twin replay` (a city as of a moment: KPIs printed, layers written as GeoJSON) and `twin scenario
 * create|apply|compare|list|archive`, so planners can script studies. `env` and `io` are for tests.
 */
export function registerTimeTravelCommands(
  program: Command,
  options: { env?: Record<string, string | undefined>; io?: CliOutput } = {},
): void {
  const io = options.io ?? stdio;
  const run = <T>(work: (ctx: CliContext) => Promise<T>) => withCliContext(work, options.env ?? process.env);

  program
    .command('replay')
    .description('the city as it was: prints its KPIs and writes its layers as GeoJSON files')
    .requiredOption('-c, --city <city>', 'city id')
    .option('--at <time>', 'as recorded at this ISO time')
    .option('--position <n>', 'as of this global position')
    .option('--valid-at <time>', 'only what had happened in the city by this ISO time')
    .option('-o, --out <dir>', 'write <city>-<layer>.geojson files here')
    .option('--json', 'print the KPIs as JSON')
    .action(
      async (flags: {
        city: string;
        at?: string;
        position?: string;
        validAt?: string;
        out?: string;
        json?: boolean;
      }) => {
        const asOf = asOfFrom(flags);
        await run(async (ctx) => {
          const { timeTravel } = services(ctx);
          try {
            await timeTravel.sync();
            if (!timeTravel.cities().includes(flags.city))
              throw new InvalidArgumentError(`no city ${flags.city} in the store`);
            const resolved = await timeTravel.resolve(flags.city, asOf);
            const twin = await timeTravel.materialize(flags.city, resolved);
            const kpis = twin.kpis();
            const point = {
              position: resolved.position.toString(),
              at: resolved.at ?? null,
              validAt: resolved.validAt ?? null,
            };
            if (flags.json) io.out(`${JSON.stringify({ city: flags.city, asOf: point, kpis }, null, 2)}\n`);
            else {
              io.out(
                `${flags.city} as of position ${point.position}${point.at ? ` (recorded by ${point.at})` : ''}${point.validAt ? `, valid at ${point.validAt}` : ''}\n`,
              );
              io.out(kpiTable(kpis));
            }
            if (flags.out) {
              mkdirSync(flags.out, { recursive: true });
              for (const layer of LAYERS) {
                const file = join(flags.out, `${flags.city}-${layer}.geojson`);
                const features = [...twin.features(layer)];
                writeFileSync(file, JSON.stringify({ type: 'FeatureCollection', features }));
                io.err(`wrote ${file} (${features.length} features)\n`);
              }
            }
          } finally {
            timeTravel.close();
          }
        });
      },
    );

  const scenario = program
    .command('scenario')
    .description('what-if scenarios: create, apply, compare, list, archive');

  scenario
    .command('create')
    .description('fork a scenario from a time or a position; prints its id')
    .requiredOption('-c, --city <city>', 'city id')
    .requiredOption('-n, --name <name>', 'scenario name')
    .option('-d, --description <text>', 'what it studies', '')
    .option('--at <time>', 'fork at this ISO time')
    .option('--position <n>', 'fork at this global position')
    .option('-m, --mode <mode>', 'frozen or tracking', 'frozen')
    .option('--exclude <eventId...>', 'real events after the fork to leave out (tracking only)')
    .option('--json', 'print the scenario as JSON')
    .action(
      async (flags: {
        city: string;
        name: string;
        description: string;
        at?: string;
        position?: string;
        mode: string;
        exclude?: string[];
        json?: boolean;
      }) => {
        if (!flags.at && !flags.position)
          throw new InvalidArgumentError('give --at <time> or --position <n>');
        await run(async (ctx) => {
          const { timeTravel, scenarios } = services(ctx);
          try {
            const info = await scenarios.create(
              {
                city: flags.city,
                name: flags.name,
                description: flags.description,
                fork: flags.at ? { at: flags.at } : { position: flags.position },
                mode: flags.mode,
                excludeEvents: flags.exclude ?? [],
              },
              { actor: cliActor(), source: 'cli', correlationId: newId() },
            );
            io.out(flags.json ? `${JSON.stringify(info, null, 2)}\n` : `${info.id}\n`);
            io.err(
              `created ${info.mode} scenario "${info.name}" of ${info.city} at position ${info.fork.position}\n`,
            );
          } finally {
            timeTravel.close();
          }
        });
      },
    );

  scenario
    .command('apply <id> <file>')
    .description(
      'apply what-if operations from a JSON file (one operation, a list, or {"operations": [...]}); - reads stdin',
    )
    .action(async (id: string, file: string) => {
      const text = readFileSync(file === '-' ? 0 : file, 'utf8');
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        throw new InvalidArgumentError(`${file} is not JSON: ${(err as Error).message}`);
      }
      const ops = Array.isArray(parsed)
        ? parsed
        : Array.isArray((parsed as { operations?: unknown }).operations)
          ? (parsed as { operations: unknown[] }).operations
          : [parsed];
      await run(async (ctx) => {
        const { timeTravel, scenarios } = services(ctx);
        try {
          const who = { actor: cliActor(), source: 'cli', correlationId: newId() };
          for (const op of ops) {
            const result = await scenarios.applyOperation(id, op, who);
            io.out(`${result.type}: ${result.events} events (operation ${result.operationId})\n`);
          }
        } finally {
          timeTravel.close();
        }
      });
    });

  scenario
    .command('compare <id>')
    .description('KPIs of the scenario beside the real city, per district, with deltas')
    .option('--against <side>', 'fork or now (default: fork for frozen, now for tracking)')
    .option('-k, --kpi <name>', 'the KPI to tabulate', 'co2eTonnesPerYear')
    .option('--json', 'print the whole comparison as JSON')
    .action(async (id: string, flags: { against?: string; kpi: string; json?: boolean }) => {
      if (flags.against && flags.against !== 'fork' && flags.against !== 'now') {
        throw new InvalidArgumentError(`--against must be fork or now: ${flags.against}`);
      }
      await run(async (ctx) => {
        const { timeTravel, scenarios } = services(ctx);
        try {
          const result = await scenarios.compare(id, flags.against as 'fork' | 'now' | undefined);
          if (flags.json) io.out(`${JSON.stringify(result, null, 2)}\n`);
          else {
            io.out(
              `${result.scenario.name} (${result.scenario.mode}) against the real city ${result.against === 'fork' ? `at its fork, position ${result.realPosition}` : `now, position ${result.realPosition}`}\n`,
            );
            io.out(compareTable(result.kpis, flags.kpi));
          }
        } finally {
          timeTravel.close();
        }
      });
    });

  scenario
    .command('list')
    .description('the scenarios')
    .option('-c, --city <city>', 'only this city')
    .option('--json', 'print JSON')
    .action(async (flags: { city?: string; json?: boolean }) => {
      await run(async (ctx) => {
        const { timeTravel, scenarios } = services(ctx);
        try {
          const list = await scenarios.list(flags.city ? { city: flags.city } : {});
          if (flags.json) io.out(`${JSON.stringify(list, null, 2)}\n`);
          else
            for (const s of list)
              io.out(`${s.id}  ${s.city.padEnd(12)} ${s.mode.padEnd(9)} ${s.status.padEnd(9)} ${s.name}\n`);
        } finally {
          timeTravel.close();
        }
      });
    });

  scenario
    .command('archive <id>')
    .description('archive a scenario (it stays readable, takes no more events)')
    .option('-r, --reason <text>', 'why')
    .action(async (id: string, flags: { reason?: string }) => {
      await run(async (ctx) => {
        const { timeTravel, scenarios } = services(ctx);
        try {
          await scenarios.archive(id, {
            actor: cliActor(),
            source: 'cli',
            correlationId: newId(),
            ...(flags.reason ? { reason: flags.reason } : {}),
          });
          io.err(`archived ${id}\n`);
        } finally {
          timeTravel.close();
        }
      });
    });
}
