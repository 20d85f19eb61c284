import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { ApiKeyRecord } from '../../access/keyRegistry.js';
import { createKeyRegistry } from '../../access/keyRegistry.js';
import { type CityScope, ROLES, type Role } from '../../access/roles.js';
import { type CliOutput, cliActor, stdio, withCliContext } from '../context.js';

function parseRole(value: string): Role {
  if (!(ROLES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`must be one of ${ROLES.join(', ')}: ${value}`);
  }
  return value as Role;
}

function parseCities(value: string): CityScope {
  if (value.trim() === '*') return '*';
  const cities = value
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  if (cities.length === 0)
    throw new InvalidArgumentError(`must be * or city ids separated by commas: ${value}`);
  return cities;
}

function formatRow(r: ApiKeyRecord): string {
  const cities = r.cities === '*' ? '*' : r.cities.join(',');
  const state = r.revokedAt ? `revoked ${r.revokedAt}` : 'active';
  return `${r.keyId}  ${r.role.padEnd(8)}  ${cities.padEnd(24)}  ${state.padEnd(32)}  ${r.label}`;
}

/**
 * `twin keys create|list|revoke`: API keys straight in the store (works while the server runs; a running
 * server picks the change up through its subscription). Whoever can open the store is trusted here.
 * `env` and `io` are for tests.
 */
export function registerKeysCommand(
  program: Command,
  options: { env?: Record<string, string | undefined>; io?: CliOutput } = {},
): void {
  const io = options.io ?? stdio;
  const keys = program.command('keys').description('create, list and revoke API keys');

  keys
    .command('create')
    .description('create an API key and print it once (it is stored only as a hash)')
    .requiredOption('-r, --role <role>', `one of ${ROLES.join(', ')}`, parseRole)
    .requiredOption('-c, --cities <cities>', '* for all cities, or city ids separated by commas', parseCities)
    .option('-l, --label <label>', 'what the key is for (shown in listings and audits)')
    .option('--reason <reason>', 'why, for the audit trail')
    .action(async (flags: { role: Role; cities: CityScope; label?: string; reason?: string }) => {
      await withCliContext(async (ctx) => {
        const registry = createKeyRegistry(ctx.store, { clock: ctx.clock });
        const { key, record } = await registry.create(
          { role: flags.role, cities: flags.cities, ...(flags.label ? { label: flags.label } : {}) },
          { actor: cliActor(), source: 'cli', ...(flags.reason ? { reason: flags.reason } : {}) },
        );
        io.out(`${key}\n`);
        io.err(`created key ${record.keyId} (${formatRow(record)}); store it now, it is not shown again\n`);
      }, options.env);
    });

  keys
    .command('list')
    .description('list API keys (ids, roles, scopes, state; never the keys)')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      await withCliContext(async (ctx) => {
        const records = await createKeyRegistry(ctx.store).list();
        if (flags.json) io.out(`${JSON.stringify(records, null, 2)}\n`);
        else for (const r of records) io.out(`${formatRow(r)}\n`);
      }, options.env);
    });

  keys
    .command('revoke <keyId>')
    .description('revoke an API key (at once on a running server)')
    .option('--reason <reason>', 'why, for the audit trail')
    .action(async (keyId: string, flags: { reason?: string }) => {
      await withCliContext(async (ctx) => {
        const record = await createKeyRegistry(ctx.store, { clock: ctx.clock }).revoke(keyId, {
          actor: cliActor(),
          source: 'cli',
          ...(flags.reason ? { reason: flags.reason } : {}),
        });
        io.err(`revoked ${formatRow(record)}\n`);
      }, options.env);
    });
}
