import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { buildingsImporter } from '../../import/buildings.js';
import { chargersImporter } from '../../import/chargers.js';
import {
  incidentsImporter,
  indexSubstations,
  readIncidents,
  substationsImporter,
} from '../../import/districtHeating.js';
import { readGeoJsonFeatures } from '../../import/geojsonFile.js';
import { gtfsImporter, readGtfsFeed } from '../../import/gtfs.js';
import { formatSummary, type Importer, type ImportSummary, runImport } from '../../import/pipeline.js';
import { createProgressReporter, silentProgress } from '../../import/progress.js';
import { type CliContext, withCliContext } from '../context.js';

/** `twin import <source> ...`: each source's features through the one import pipeline. */

interface ImportFlags {
  city: string;
  batchSize: number;
  json?: boolean;
  failOnInvalid?: boolean;
}

const positiveInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`must be a positive integer: ${value}`);
  return n;
};

async function runAll(
  flags: ImportFlags,
  importers: (ctx: CliContext) => Promise<Importer<unknown>[]>,
): Promise<void> {
  const summaries: ImportSummary[] = await withCliContext(async (ctx) => {
    const out: ImportSummary[] = [];
    for (const importer of await importers(ctx)) {
      const summary = await runImport({
        store: ctx.store,
        writer: ctx.writer,
        city: flags.city,
        importer,
        batchSize: flags.batchSize,
        progress: flags.json ? silentProgress : createProgressReporter(),
      });
      out.push(summary);
    }
    return out;
  });
  if (flags.json) process.stdout.write(`${JSON.stringify(summaries, null, 2)}\n`);
  else for (const s of summaries) process.stdout.write(`${formatSummary(s)}\n`);
  if (flags.failOnInvalid && summaries.some((s) => s.invalid.length > 0)) process.exitCode = 2;
}

function withFlags(command: Command): Command {
  return command
    .requiredOption(
      '-c, --city <city>',
      'the target city id (its city stream must exist: seed or register it)',
    )
    .option('--batch-size <n>', 'events per appended batch', positiveInt, 500)
    .option('--json', 'print the summary as JSON (no progress output)')
    .option('--fail-on-invalid', 'exit with code 2 when any feature was invalid');
}

/** Registers `twin import buildings|gtfs|chargers|district-heating`. */
export function registerImportCommands(program: Command): void {
  const group = program
    .command('import')
    .description(
      'import real data (OSM buildings, GTFS, Open Charge Map, CMTEB district heating) into a city',
    );

  withFlags(
    group
      .command('buildings <file>')
      .description('OSM-style building footprints (GeoJSON) -> BuildingRegistered'),
  ).action(async (file: string, flags: ImportFlags) => {
    await runAll(flags, async () => [buildingsImporter(await readGeoJsonFeatures(file))]);
  });

  withFlags(
    group
      .command('gtfs <dir>')
      .description('a GTFS feed directory: stops (with their routes) -> transit stops'),
  ).action(async (dir: string, flags: ImportFlags) => {
    await runAll(flags, async () => [gtfsImporter(await readGtfsFeed(dir))]);
  });

  withFlags(
    group
      .command('chargers <file>')
      .description('Open Charge Map style sites (GeoJSON) -> ev-charger assets'),
  ).action(async (file: string, flags: ImportFlags) => {
    await runAll(flags, async () => [chargersImporter(await readGeoJsonFeatures(file))]);
  });

  withFlags(
    group
      .command('district-heating <substations> <incidents>')
      .description(
        'CMTEB substations (GeoJSON) -> district-heating nodes; outage incidents (CSV, times read as UTC) -> failed/restored',
      ),
  ).action(async (substations: string, incidents: string, flags: ImportFlags) => {
    await runAll(flags, async () => {
      const features = await readGeoJsonFeatures(substations);
      const index = indexSubstations(features);
      const rows = await readIncidents(incidents);
      return [substationsImporter(features, index), incidentsImporter(rows, index) as Importer<unknown>];
    });
  });
}
