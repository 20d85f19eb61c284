import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createSqliteEventStore } from '../../src/eventStore/sqlite.js';
import { createProjectionRunner } from '../../src/twin/projectionRunner.js';
import { createFileSnapshotStore, createMemorySnapshotStore } from '../../src/twin/snapshotStore.js';
import { eventually } from '../support/auth.js';
import { appendAll, randomCityEvents, smallCityEvents } from '../support/twinFixtures.js';
import { registryImage } from '../support/twinImage.js';

const test = suite('projection runner restart');
const dir = mkdtempSync(join(tmpdir(), 'twin-restart-'));
const dbPath = join(dir, 'events.sqlite');
const snapshotDir = join(dir, 'twin');

test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Rebuilds all twins from the whole log in this process. */
async function fullRebuild(): Promise<string> {
  const store = createSqliteEventStore(dbPath);
  const runner = createProjectionRunner({ store, snapshots: createMemorySnapshotStore() });
  await runner.start();
  await runner.waitUntilCaughtUp(60_000);
  const image = registryImage(runner.twins);
  await runner.stop();
  await store.close();
  return image;
}

test('a runner killed with SIGKILL mid-stream restarts from its snapshot into the twin a full rebuild gives', async () => {
  const history = [...smallCityEvents(), ...randomCityEvents(5, 1500)];
  const store = createSqliteEventStore(dbPath);
  await appendAll(store, history.slice(0, 600));

  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', 'tests/support/runnerChild.ts', dbPath, snapshotDir, '100'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout!.on('data', (chunk) => {
    out += chunk.toString();
  });
  try {
    await eventually(() => out.includes('caughtUp'), 60_000);
    // Live: append while the child follows, and kill it once it has snapshotted during the live part.
    const snapshotsBefore = (out.match(/snapshot/g) ?? []).length;
    let appended = 600;
    while (appended < 1300) {
      await appendAll(store, history.slice(appended, appended + 50));
      appended += 50;
      if ((out.match(/snapshot/g) ?? []).length > snapshotsBefore && appended >= 1000) break;
    }
    await eventually(() => (out.match(/snapshot/g) ?? []).length > snapshotsBefore, 60_000);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  assert.ok(existsSync(join(snapshotDir, 'twin-snapshot.json')), 'a snapshot file was written');
  await appendAll(store, history.slice(1300));

  // Restart: the latest snapshot plus the tail.
  const snapshots = createFileSnapshotStore(snapshotDir);
  const saved = await snapshots.load();
  assert.ok(saved && BigInt(saved.position!) > 600n, 'restarts from a snapshot taken while live');
  const restarted = createProjectionRunner({ store, snapshots });
  await restarted.start();
  await restarted.waitUntilCaughtUp(60_000);
  const image = registryImage(restarted.twins);
  await restarted.stop();
  await store.close();

  assert.ok(image === (await fullRebuild()), 'the restarted twin equals a full rebuild');
});

test('a snapshot ahead of the log is ignored and the twin is rebuilt', async () => {
  const other = join(dir, 'other.sqlite');
  const store = createSqliteEventStore(other);
  await appendAll(store, smallCityEvents().slice(0, 5));
  // The snapshot directory holds a snapshot of the bigger log above.
  const runner = createProjectionRunner({ store, snapshots: createFileSnapshotStore(snapshotDir) });
  await runner.start();
  await runner.waitUntilCaughtUp(30_000);
  assert.is(runner.twins.get('testville')?.counts().buildings, 2);
  assert.is(runner.twins.get('randville'), undefined);
  await runner.stop();
  await store.close();
});

test.run();
