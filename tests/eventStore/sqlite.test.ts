import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConcurrencyError } from '../../src/core/errors.js';
import type { RecordedEvent } from '../../src/eventStore/port.js';
import { createSqliteEventStore } from '../../src/eventStore/sqlite.js';
import { eventStoreContract } from './contract.js';

eventStoreContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'urban-twin-store-'));
  const path = join(dir, 'events.sqlite');
  return {
    store: createSqliteEventStore(path),
    reopen: async () => createSqliteEventStore(path),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Starts the appender in its own process; `onLine` sees each line it prints. */
function startAppender(
  path: string,
  appends: number,
  perAppend: number,
  stream: string,
  onLine: (line: string, child: ChildProcess) => void,
): { child: ChildProcess; exited: Promise<unknown> } {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'tests/eventStore/support/sqliteAppender.ts',
      path,
      String(appends),
      String(perAppend),
      stream,
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = once(child, 'exit');
  createInterface({ input: child.stdout! }).on('line', (line) => onLine(line, child));
  return { child, exited };
}

async function within<T>(promise: Promise<T>, what: string, ms = 60_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const processes = suite<{ dir: string; path: string }>('sqlite event store across processes', {
  dir: '',
  path: '',
});

processes.before.each(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'urban-twin-store-'));
  ctx.path = join(ctx.dir, 'events.sqlite');
});

processes.after.each(async (ctx) => {
  await rm(ctx.dir, { recursive: true, force: true });
});

processes(
  'every acknowledged append survives the writing process being killed with SIGKILL',
  async ({ path }) => {
    const acked: string[] = [];
    let killed = false;
    const { child, exited } = startAppender(path, 100_000, 5, 'mobility-bucharest.bus-41', (line, proc) => {
      if (!line.startsWith('ack ')) return;
      acked.push(...line.slice(4).split(' '));
      if (acked.length >= 300 && !killed) {
        killed = true;
        proc.kill('SIGKILL');
      }
    });
    const [code, signal] = (await within(exited, 'the appender to be killed')) as [
      number | null,
      string | null,
    ];
    assert.is(signal, 'SIGKILL', `the appender was killed mid-stream (exit code ${code})`);
    assert.ok(child.killed);
    assert.ok(acked.length >= 300);

    const store = createSqliteEventStore(path);
    try {
      const stored: RecordedEvent[] = [];
      for await (const event of store.readStream('mobility-bucharest.bus-41')) stored.push(event);
      const ids = new Set(stored.map((e) => e.id));
      const lost = acked.filter((id) => !ids.has(id));
      assert.equal(lost, [], 'no acknowledged event is lost');
      // An unacknowledged append may or may not have landed, but never half of one.
      assert.is(stored.length % 5, 0);
      assert.equal(
        stored.map((e) => e.revision),
        stored.map((_, i) => i),
      );
    } finally {
      await store.close();
    }
  },
);

processes(
  'a live subscription receives events another process appends to the same file',
  async ({ path }) => {
    const store = createSqliteEventStore(path, { pollIntervalMs: 20 });
    await store.append('city-suceava', [
      {
        id: '0b7f9a3c-2d4e-4f6a-8b1c-3d5e7f9a1b2c',
        type: 'CityRegistered',
        data: { name: 'Suceava' },
        metadata: {},
      },
    ]);
    const subscription = store.subscribeToAll({ filter: { streamPrefixes: ['mobility-'] } });
    const acked: string[] = [];
    const received: string[] = [];
    let appender: { exited: Promise<unknown> } | undefined;
    try {
      for await (const message of subscription) {
        if (message.type === 'caughtUp') {
          assert.equal(received, [], 'nothing of the other process yet');
          appender = startAppender(path, 20, 5, 'mobility-suceava.bus-3', (line) => {
            if (line.startsWith('ack ')) acked.push(...line.slice(4).split(' '));
          });
          continue;
        }
        received.push(message.event.id);
        if (received.length === 100) break;
      }
      await within(appender!.exited, 'the appender to finish');
    } finally {
      await subscription.close();
      await store.close();
    }
    assert.equal(received, acked);
  },
);

processes(
  'a writer sees the revisions another connection appended, also for streams it has written itself',
  async ({ path }) => {
    // A store that remembered the revisions it last wrote per stream would have to forget them here.
    const a = createSqliteEventStore(path, { backgroundCheckpoints: false });
    const b = createSqliteEventStore(path, { backgroundCheckpoints: false });
    const stream = 'mobility-suceava.bus-7';
    const report = (n: number) => ({
      id: `0b7f9a3c-2d4e-4f6a-8b1c-3d5e7f9a1b${String(n).padStart(2, '0')}`,
      type: 'VehiclePositionReported',
      data: { n },
      metadata: {},
    });
    try {
      assert.is(
        (await a.append(stream, [report(0)], { expectedRevision: 'no_stream' })).nextExpectedRevision,
        0,
      );
      assert.is((await b.append(stream, [report(1)], { expectedRevision: 0 })).nextExpectedRevision, 1);
      // `a` last wrote revision 0 itself; the file is at 1.
      try {
        await a.append(stream, [report(2)], { expectedRevision: 0 });
        assert.unreachable('a stale expected revision must be refused');
      } catch (error) {
        assert.instance(error, ConcurrencyError);
        assert.is((error as ConcurrencyError).actual, '1');
      }
      assert.is((await a.append(stream, [report(3)], { expectedRevision: 1 })).nextExpectedRevision, 2);
      await b.append(stream, [report(4), report(5)], { expectedRevision: 2 });
      assert.is(
        (await a.append(stream, [report(6)])).nextExpectedRevision,
        5,
        "'any' follows the other's appends",
      );
      const revisions: number[] = [];
      for await (const e of a.readStream(stream)) revisions.push(e.revision);
      assert.equal(revisions, [0, 1, 2, 3, 4, 5]);
    } finally {
      await a.close();
      await b.close();
    }
  },
);

processes.run();

const dataText = suite<{ dir: string; path: string }>('sqlite event store: an event given its data text', {
  dir: '',
  path: '',
});
dataText.before.each(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'urban-twin-datatext-'));
  ctx.path = join(ctx.dir, 'events.sqlite');
});
dataText.after.each(async (ctx) => {
  await rm(ctx.dir, { recursive: true, force: true });
});

dataText('is stored as that text, not serialised again', async ({ path }) => {
  const store = createSqliteEventStore(path);
  try {
    // JSON.stringify would write {"b":1,"a":[1,2]}; the canonical text given sorts the keys
    const data = { b: 1, a: [1, 2] };
    await store.append('thing-1', [
      {
        id: '0b9f2a52-5c43-4d52-9a39-6a4b3a1e8f01',
        type: 'ThingHappened',
        data,
        metadata: {},
        dataText: '{"a":[1,2],"b":1}',
      },
    ]);
    const db = new Database(path, { readonly: true });
    const stored = db.prepare('SELECT data FROM events').pluck().get();
    db.close();
    assert.is(stored, '{"a":[1,2],"b":1}');
    const read: RecordedEvent[] = [];
    for await (const event of store.readStream('thing-1')) read.push(event);
    assert.equal(read[0]!.data, { a: [1, 2], b: 1 });
  } finally {
    await store.close();
  }
});

dataText('that is not a string rejects the append, which writes nothing', async ({ path }) => {
  const store = createSqliteEventStore(path);
  try {
    const bad = { id: '0b9f2a52-5c43-4d52-9a39-6a4b3a1e8f02', type: 'ThingHappened', data: {}, metadata: {} };
    const error = await store.append('thing-1', [{ ...bad, dataText: 42 as unknown as string }]).then(
      () => undefined,
      (e: unknown) => e as { issues?: { field: string }[] },
    );
    assert.ok(error, 'the append was rejected');
    assert.is(error!.issues?.[0]?.field, 'events[0].dataText');
    assert.is(await store.headPosition(), undefined);
  } finally {
    await store.close();
  }
});

dataText.run();
