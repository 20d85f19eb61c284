import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ImportSummary } from '../../src/import/pipeline.js';
import { DATA } from '../support/importFixtures.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI in a child process against a SQLite store in `dataDir`. */
function twin(dataDir: string, args: string[], entry = 'src/cli/main.ts'): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
      env: { ...process.env, DATA_DIR: dataDir, EVENT_STORE: 'sqlite', CI: '1', LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const Cli = suite<{ dir: string }>('the twin CLI (a child process on a real SQLite file)');
Cli.before((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'twin-cli-'));
});
Cli.after((ctx) => {
  rmSync(ctx.dir, { recursive: true, force: true });
});

// Each child process compiles the sources through tsx: the cases share as few runs as they can.
Cli('twin seed seeds a city into the configured store', async ({ dir }) => {
  const first = await twin(dir, ['seed', '--scale', '0.02', '--city', 'bucharest']);
  assert.is(first.code, 0, first.stderr);
  assert.match(first.stdout, /bucharest: \d+ events generated, \d+ appended/);
});

Cli(
  'twin import chargers imports the 26 Bucharest sites, prints plain progress and a summary',
  async ({ dir }) => {
    const file = `${DATA}/ev-chargers/ocm_romania_sample100.geojson`;
    const run = await twin(dir, ['import', 'chargers', file, '--city', 'bucharest']);
    assert.is(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      /chargers -> bucharest: read 100, imported 26, already present 0, skipped outside city 74/,
    );
    assert.match(run.stderr, /import chargers: 52 events/); // plain lines, no bar, when CI is set
    assert.not.ok(run.stderr.includes('\u001b['), 'no terminal control codes');

    const json = await twin(
      dir,
      ['import', 'chargers', file, '--city', 'bucharest', '--json'],
      'bin/twin.mjs',
    );
    assert.is(json.code, 0, json.stderr);
    const [summary] = JSON.parse(json.stdout) as ImportSummary[];
    assert.is(summary!.eventsAppended, 0);
    assert.is(summary!.alreadyPresent, 26);
  },
);

Cli(
  'an import into a city that is not seeded ends with exit code 1 and a message naming it',
  async ({ dir }) => {
    const city = await twin(dir, ['import', 'gtfs', `${DATA}/gtfs-cluj`, '--city', 'cluj-napoca']);
    assert.is(city.code, 1);
    assert.match(city.stderr, /City cluj-napoca is not registered/);
  },
);

Cli.run();
