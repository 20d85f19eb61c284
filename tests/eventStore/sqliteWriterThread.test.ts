import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConcurrencyError, ConflictError, UnavailableError } from '../../src/core/errors.js';
import type { NewEvent, RecordedEvent } from '../../src/eventStore/port.js';
import { createSqliteEventStore } from '../../src/eventStore/sqlite.js';
import { startSqliteWriterThread } from '../../src/eventStore/sqliteWriterThread.js';
import { eventStoreContract } from './contract.js';

/** A store whose appends go to its writer thread from the first one on. */
async function openOnThread(path: string) {
  const store = createSqliteEventStore(path, { writerThread: true });
  assert.ok(await store.writerThreadReady(), 'the writer thread started');
  return store;
}

// The whole contract again, every append made on the writer thread.
eventStoreContract('sqlite (appends on a writer thread)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'urban-twin-writer-thread-'));
  const path = join(dir, 'events.sqlite');
  return {
    store: await openOnThread(path),
    reopen: () => openOnThread(path),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

const event = (type = 'ThingHappened', data: unknown = {}): NewEvent => ({
  id: randomUUID(),
  type,
  data,
  metadata: {},
});

const WriterThread = suite<{ dir: string }>('sqlite writer thread', { dir: '' });
WriterThread.before.each(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'urban-twin-writer-thread-'));
});
WriterThread.after.each(async (ctx) => {
  await rm(ctx.dir, { recursive: true, force: true });
});

WriterThread(
  'appends made while it starts (on the store connection) and after (on the thread) form one feed in order',
  async ({ dir }) => {
    const store = createSqliteEventStore(join(dir, 'events.sqlite'), { writerThread: true });
    try {
      // Not awaited one by one: the later ones are posted to the thread while earlier ones are in flight.
      const early = await store.append('thing-1', [event()]);
      assert.is(early.position, 1n);
      assert.ok(await store.writerThreadReady());
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.append(`thing-${i % 3}`, [event('ThingHappened', { i })])),
      );
      assert.equal(
        results.map((r) => r.position),
        Array.from({ length: 20 }, (_, i) => BigInt(i + 2)),
        'positions in the order the appends were made',
      );
      const feed: RecordedEvent[] = [];
      for await (const e of store.readAll()) feed.push(e);
      assert.is(feed.length, 21);
      assert.equal(
        feed.slice(1).map((e) => (e.data as { i: number }).i),
        Array.from({ length: 20 }, (_, i) => i),
      );
      // Revisions per stream follow the same order
      assert.equal(
        feed.filter((e) => e.stream === 'thing-1').map((e) => e.revision),
        [0, 1, 2, 3, 4, 5, 6, 7],
      );
    } finally {
      await store.close();
    }
  },
);

WriterThread(
  'hands back the store errors as their own classes, and appends nothing for them',
  async ({ dir }) => {
    const store = await openOnThread(join(dir, 'events.sqlite'));
    try {
      const first = event();
      await store.append('thing-1', [first]);
      const conflict = await store
        .append('thing-1', [event()], { expectedRevision: 'no_stream' })
        .catch((e: unknown) => e);
      assert.instance(conflict, ConcurrencyError);
      assert.equal((conflict as ConcurrencyError).extra, {
        stream: 'thing-1',
        expected: 'no_stream',
        actual: '0',
      });
      // The same id with other events around it: a partial retry
      const partial = await store.append('thing-1', [first, event()]).catch((e: unknown) => e);
      assert.instance(partial, ConflictError);
      assert.is(await store.headPosition(), 1n);
    } finally {
      await store.close();
    }
  },
);

WriterThread(
  'a store that cannot be opened by the thread: reported once, appends refused',
  async ({ dir }) => {
    const path = join(dir, 'not-a-database.sqlite');
    await writeFile(path, 'plain text, not SQLite '.repeat(100));
    const failures: Error[] = [];
    const thread = startSqliteWriterThread(
      { path, synchronous: 'NORMAL', autocheckpointPages: 1_000 },
      (error) => failures.push(error),
    );
    assert.is(await thread.whenReady, false);
    assert.is(thread.ready, false);
    assert.is(failures.length, 1);
    assert.match(failures[0]!.message, /not a database/);
    const refused = await thread.append([], new Date().toISOString()).catch((e: unknown) => e);
    assert.instance(refused, UnavailableError);
    await thread.close();
  },
);

WriterThread.run();
