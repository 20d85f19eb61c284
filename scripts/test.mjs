#!/usr/bin/env node
// Runs the uvu suite (ESM TypeScript through tsx) and ends with one line `N passed, N failed, N skipped`.
// uvu prints its own Total/Passed/Skipped block; we read it and derive failures as total - passed, which
// also counts tests that never ran because a `before` hook threw (uvu swallows those silently).
// Usage: node scripts/test.mjs [pattern]   e.g. `npm test -- eventStore`
import { spawn } from 'node:child_process';

const pattern = process.argv[2] ?? '.';
const args = [
  '--import',
  'tsx',
  'node_modules/uvu/bin.js',
  'tests',
  `${pattern}.*\\.test\\.ts$`,
  '-i',
  'support',
];
const child = spawn(process.execPath, args, {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' },
});

let output = '';
let lingerTimer;
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  output += chunk.toString();
  if (/Duration:/.test(output) && !lingerTimer) {
    // The suite is over; a handle left open must not hang CI.
    lingerTimer = setTimeout(() => {
      console.error(
        '\nwarning: the test process kept running after the suite ended (an open handle); stopped it',
      );
      child.kill('SIGKILL');
    }, 15_000);
    lingerTimer.unref();
  }
});

child.on('close', (code, signal) => {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
  const read = (label) => {
    const m = plain.match(new RegExp(`${label}:\\s+(\\d+)`));
    return m ? Number(m[1]) : undefined;
  };
  const total = read('Total');
  const passed = read('Passed');
  const skipped = read('Skipped') ?? 0;
  if (total === undefined || passed === undefined) {
    console.log(`\n0 passed, 1 failed`);
    console.error(`the test runner stopped before its summary (exit ${code ?? signal})`);
    process.exit(1);
  }
  const failed = total - passed;
  const crashed = code !== 0 && signal !== 'SIGKILL';
  console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exit(failed > 0 || crashed ? 1 : 0);
});
