import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startWalCheckpointer } from '../../src/eventStore/walCheckpointer.js';

const Checkpointer = suite('WAL checkpoints on a thread of their own');

/** Waits for `ready()` (polling), failing with `what` after a generous timeout. */
async function until(ready: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

Checkpointer(
  "copies a writer's commits back into the database file while the writer never checkpoints",
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'urban-twin-wal-'));
    const path = join(dir, 'events.sqlite');
    const writer = new Database(path);
    writer.pragma('journal_mode = WAL');
    // The writer itself never checkpoints: whatever reaches the database file, the thread copied.
    writer.pragma('wal_autocheckpoint = 0');
    writer.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    const failures: Error[] = [];
    const checkpointer = await startWalCheckpointer(path, 10, (error) => failures.push(error));
    try {
      const insert = writer.prepare('INSERT INTO t (v) VALUES (?)');
      for (let i = 0; i < 50; i++) writer.transaction(() => insert.run(`row ${i}`))();
      const framesWritten = (writer.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number }>)[0]!.log;
      assert.ok(framesWritten > 0, 'the commits went to the WAL');
      await until(
        () => checkpointer.stats.checkpointed >= framesWritten,
        `the thread to copy ${framesWritten} WAL frames back`,
      );
      assert.ok(checkpointer.stats.checkpoints > 0);
    } finally {
      await checkpointer.stop();
      writer.close();
    }
    // The thread's connection is closed once stop() resolves: the file opens, and holds every commit.
    const reader = new Database(path, { readonly: true });
    try {
      assert.is((reader.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 50);
    } finally {
      reader.close();
      await rm(dir, { recursive: true, force: true });
    }
    assert.equal(failures, []);
  },
);

Checkpointer('reports a failure it cannot get past, and stops', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'urban-twin-wal-'));
  const path = join(dir, 'not-a-database.sqlite');
  await writeFile(path, 'plain text, not SQLite '.repeat(100));
  const failures: Error[] = [];
  const checkpointer = await startWalCheckpointer(path, 10, (error) => failures.push(error));
  try {
    await until(() => failures.length > 0, 'the failure to be reported');
    assert.match(failures[0]!.message, /not a database/);
    assert.is(checkpointer.stats.checkpoints, 0);
  } finally {
    await checkpointer.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

Checkpointer.run();
