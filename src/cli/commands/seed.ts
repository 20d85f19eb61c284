import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { SEEDED_CITY_IDS } from '../../../seeds/generate.js';
import { seedCities } from '../../../seeds/seedCities.js';
import { withCliContext } from '../context.js';

/** `twin seed`: appends the seeded demo cities (the same loader `npm start` runs when SEED=true). */
export function registerSeedCommand(program: Command): void {
  program
    .command('seed')
    .description(`seed the demo cities (${SEEDED_CITY_IDS.join(', ')}) unless their city stream exists`)
    .option(
      '-s, --scale <scale>',
      'multiplies every count (1 = demo, 100 = benchmark size)',
      (value: string) => {
        const n = Number(value);
        if (!(n > 0) || n > 1000) throw new InvalidArgumentError(`must be a number in (0, 1000]: ${value}`);
        return n;
      },
    )
    .option('-c, --city <city...>', 'only these cities')
    .option('--seed <seed>', 'PRNG seed (different seeds give different cities)')
    .option('--force', 'append even when a city stream exists (already stored events are skipped by id)')
    .action(async (flags: { scale?: number; city?: string[]; seed?: string; force?: boolean }) => {
      for (const city of flags.city ?? []) {
        if (!SEEDED_CITY_IDS.includes(city)) {
          throw new InvalidArgumentError(`unknown city ${city} (one of ${SEEDED_CITY_IDS.join(', ')})`);
        }
      }
      await withCliContext(async (ctx) => {
        const results = await seedCities({
          store: ctx.store,
          clock: ctx.clock,
          writer: ctx.writer,
          scale: flags.scale ?? ctx.config.SEED_SCALE,
          ...(flags.city ? { cities: flags.city } : {}),
          ...(flags.seed ? { seed: flags.seed } : {}),
          ...(flags.force ? { force: true } : {}),
          onProgress: ({ city, done, total }) => process.stderr.write(`seed ${city}: ${done}/${total}\n`),
        });
        for (const r of results) {
          process.stdout.write(
            r.skipped
              ? `${r.city}: already seeded (city stream exists), nothing appended\n`
              : `${r.city}: ${r.generated} events generated, ${r.appended} appended\n`,
          );
        }
      });
    });
}
