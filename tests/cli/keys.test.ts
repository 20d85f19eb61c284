import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createKeyRegistry } from '../../src/access/keyRegistry.js';
import { registerKeysCommand } from '../../src/cli/commands/keys.js';
import { createSqliteEventStore } from '../../src/eventStore/sqlite.js';
import { eventually } from '../support/auth.js';

interface Ctx {
  dir: string;
  out: string[];
  err: string[];
  run(...args: string[]): Promise<void>;
}

const test = suite<Ctx>('twin keys', {} as Ctx);
test.before.each((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'urban-twin-keys-'));
  ctx.out = [];
  ctx.err = [];
  ctx.run = async (...args) => {
    const program = new Command('twin').exitOverride();
    program.configureOutput({ writeOut: () => {}, writeErr: () => {} });
    registerKeysCommand(program, {
      env: { EVENT_STORE: 'sqlite', DATA_DIR: ctx.dir },
      io: { out: (t) => ctx.out.push(t), err: (t) => ctx.err.push(t) },
    });
    await program.parseAsync(['node', 'twin', ...args]);
  };
});
test.after.each((ctx) => {
  rmSync(ctx.dir, { recursive: true, force: true });
});

test('create prints the key once; a running server accepts it and drops it when the CLI revokes it', async (ctx) => {
  const serverStore = createSqliteEventStore(join(ctx.dir, 'events.sqlite'));
  const server = createKeyRegistry(serverStore);
  await server.start();
  await ctx.run('keys', 'create', '--role', 'operator', '--cities', 'cluj-napoca,suceava', '--label', 'ops');
  const key = ctx.out.join('').trim();
  assert.match(key, /^ut_[0-9a-f]{16}_\S{43}$/);
  const principal = await server.authenticate(key);
  assert.equal(principal?.cities, ['cluj-napoca', 'suceava']);
  assert.is(principal?.role, 'operator');
  assert.is((await server.get(principal!.id))?.createdBy.startsWith('cli'), true);

  ctx.out.length = 0;
  await ctx.run('keys', 'list', '--json');
  const listed = JSON.parse(ctx.out.join(''));
  assert.is(listed.length, 1);
  assert.not.ok(ctx.out.join('').includes(key.slice(20)), 'the list never shows the key');

  await ctx.run('keys', 'revoke', principal!.id, '--reason', 'rotation');
  await eventually(async () => (await server.authenticate(key)) === undefined);
  await server.close();
  await serverStore.close();
});

test('a bad role or city list is refused before anything is written', async (ctx) => {
  for (const args of [
    ['keys', 'create', '--role', 'root', '--cities', '*'],
    ['keys', 'create', '--role', 'viewer', '--cities', ' , '],
    ['keys', 'create', '--role', 'viewer', '--cities', 'Not_A_City'],
  ]) {
    let failed = false;
    await ctx.run(...args).catch(() => {
      failed = true;
    });
    assert.ok(failed, args.join(' '));
  }
  await ctx.run('keys', 'list', '--json');
  assert.equal(JSON.parse(ctx.out.join('')), []);
});

test.run();
