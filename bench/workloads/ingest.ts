/**
 * HTTP ingest: a real server on loopback over a real SQLite file, fed the seeded city of Bucharest (buildings
 * with footprints, certificates, meter readings, grid nodes and links, chargers, stations, vehicles and
 * their reports) as POST /api/v1/cities/bucharest/events in batches of 1,000: JSON parsing, zod validation,
 * the domain rules against each entity's stream, hash sealing and the append all included. Beside it, in the
 * same run, the store port's own rate for the very same events (pre-built, pre-sealed writes, appendMany per
 * batch on a fresh file). Goal: HTTP ingest >= 50% of the port's rate.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateCity } from '../../seeds/generate.js';
import { createKeyRegistry } from '../../src/access/keyRegistry.js';
import { GENESIS_HASH, sealEvents } from '../../src/audit/hashChain.js';
import { loadConfig } from '../../src/config.js';
import { fixedClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import type { NewEvent, StreamWrite } from '../../src/eventStore/port.js';
import { createSqliteEventStore } from '../../src/eventStore/sqlite.js';
import { createApp } from '../../src/http/app.js';
import { createHttpServer } from '../../src/http/server.js';
import { createParseWorkers } from '../../src/write/parseWorkers.js';
import { createWriter } from '../../src/write/writer.js';
import { type BenchResult, percentile, result, timeIt, type Workload } from '../harness.js';

const BATCH = 1_000;

/**
 * A SQLite store as the server opens it (src/main.ts: the writer thread as SQLITE_WRITER_THREAD says, off by
 * default), for the port's baseline and for the pipelines alike, so they are compared on the same store.
 */
async function serverStore(path: string) {
  const { SQLITE_WRITER_THREAD } = loadConfig({ SQLITE_WRITER_THREAD: process.env.SQLITE_WRITER_THREAD });
  const store = createSqliteEventStore(path, { writerThread: SQLITE_WRITER_THREAD });
  // Timed from the first append on: the thread has started by then, as in a server that has been running
  await store.writerThreadReady();
  return store;
}
const CITY = 'bucharest';
/** Feeders posting side by side in the second HTTP run. */
const FEEDERS = 4;
/**
 * Interleaved rounds of the port and every pipeline run, the best of each reported: this machine's speed
 * drifts by a quarter within minutes (one port run measured 86k events/s, the next 133k), which a single
 * round of each put straight into the ratio.
 */
const ROUNDS = 3;

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The same events as the port would receive them from the writer: grouped per stream, expected revisions, sealed. */
function portBatches(batches: ReturnType<typeof seedBatches>['batches'], now: string): StreamWrite[][] {
  const heads = new Map<string, { revision: number; hash: string }>();
  return batches.map((batch) => {
    const byStream = new Map<string, NewEvent[]>();
    for (const e of batch) {
      const list = byStream.get(e.stream) ?? [];
      list.push({
        id: e.id,
        type: e.type,
        data: e.data,
        metadata: {
          actor: 'bench',
          source: 'bench',
          occurredAt: e.occurredAt ?? now,
          correlationId: 'bench',
          causationId: null,
        },
      });
      byStream.set(e.stream, list);
    }
    return [...byStream].map(([stream, events]) => {
      const head = heads.get(stream) ?? { revision: -1, hash: GENESIS_HASH };
      const sealed = sealEvents(stream, head.revision + 1, head.hash, events);
      heads.set(stream, {
        revision: head.revision + events.length,
        hash: sealed.at(-1)!.metadata.hash as string,
      });
      return { stream, expectedRevision: head.revision < 0 ? 'no_stream' : head.revision, events: sealed };
    });
  });
}

type SeedEvents = ReturnType<typeof generateCity>;

/** The request bodies of a sequence of events, in batches of BATCH. */
function bodiesOf(events: SeedEvents): string[] {
  return chunk(events, BATCH).map((batch) =>
    JSON.stringify({
      source: 'bench',
      events: batch.map((e) => ({
        id: e.id,
        type: e.type,
        ...(e.entityId !== undefined ? { entityId: e.entityId } : {}),
        data: e.data,
        occurredAt: e.occurredAt,
      })),
    }),
  );
}

/**
 * The same events as FEEDERS independent feeds, as a city's sources send them side by side (a building
 * registry, a mobility operator, the grid's SCADA): the city's own events first, alone; then every entity's
 * events in their order within one feed (buildings and assets spread by id, the grid whole in one feed,
 * since its links refer to its nodes).
 */
function feedsOf(events: SeedEvents): { prelude: string[]; feeds: string[][] } {
  const city = events.filter((e) => e.kind === 'city');
  const feeds: SeedEvents[] = Array.from({ length: FEEDERS }, () => []);
  for (const e of events) {
    if (e.kind === 'city') continue;
    const key = e.kind === 'grid' ? 'grid' : e.entityId!;
    let h = 0;
    for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) >>> 0;
    feeds[h % FEEDERS]!.push(e);
  }
  return { prelude: bodiesOf(city), feeds: feeds.map(bodiesOf) };
}

function seedBatches(scale: number) {
  const events = generateCity(CITY, { scale });
  let latest = '2000-01-01T00:00:00Z';
  for (const e of events) if (e.occurredAt > latest) latest = e.occurredAt;
  // The rules reject readings from the future: the clock stands an hour after the last seeded event.
  const now = new Date(Date.parse(latest) + 3_600_000);
  return { events, batches: chunk(events, BATCH), bodies: bodiesOf(events), now };
}

async function appendThroughPort(path: string, writes: StreamWrite[][]): Promise<number> {
  const store = await serverStore(path);
  const { seconds } = await timeIt(async () => {
    for (const batch of writes) await store.appendMany(batch);
  });
  await store.close();
  return seconds;
}

/** The same batches through the write pipeline in process: what HTTP and JSON add is the difference. */
async function ingestInProcess(path: string, batches: ReturnType<typeof seedBatches>['batches'], now: Date) {
  const store = await serverStore(path);
  const writer = createWriter({ store, clock: fixedClock(now) });
  const items = batches.map((batch) =>
    batch.map((e) => ({
      id: e.id,
      type: e.type,
      ...(e.entityId !== undefined ? { entityId: e.entityId } : {}),
      data: structuredClone(e.data),
      occurredAt: e.occurredAt,
    })),
  );
  const ctx = { actor: 'bench', source: 'bench', correlationId: 'bench' };
  try {
    const { seconds } = await timeIt(async () => {
      for (const batch of items) await writer.appendBatch(CITY, batch, ctx);
    });
    return seconds;
  } finally {
    await store.close();
  }
}

/** Posts the bodies from the client process (ingestClient.ts) and returns its timing. */
function postFromChildProcess(command: {
  url: string;
  headers: Record<string, string>;
  prelude?: string;
  files: string[];
}): Promise<{ seconds: number; latencies: number[]; cpuSeconds: number }> {
  const client = fork(join(dirname(fileURLToPath(import.meta.url)), 'ingestClient.ts'), [], {
    execArgv: ['--import', 'tsx'],
  });
  return new Promise((resolve, reject) => {
    client.once('error', reject);
    client.once('exit', (code) =>
      reject(new Error(`the ingest client exited with ${code} before answering`)),
    );
    client.once(
      'message',
      (reply: { ok: boolean; error?: string; seconds: number; latencies: number[]; cpuSeconds: number }) =>
        reply.ok ? resolve(reply) : reject(new Error(reply.error)),
    );
    client.send(command);
  });
}

/** Posts `feeds` (after `prelude`, alone) to a real server over loopback from the client process. */
async function ingestOverHttp(
  path: string,
  now: Date,
  feeds: string[][],
  options: { prelude?: string[]; parseWorkers?: number; headers?: Record<string, string> } = {},
) {
  const { prelude = [], parseWorkers, headers: extraHeaders = {} } = options;
  const store = await serverStore(path);
  const clock = fixedClock(now);
  const { key } = await createKeyRegistry(store, { clock }).create(
    { role: 'operator', cities: [CITY], label: 'bench' },
    { actor: 'bench', source: 'bench' },
  );
  const config = loadConfig({
    EVENT_STORE: 'sqlite',
    LOG_LEVEL: 'silent',
    BODY_LIMIT: '64mb',
    SEED: 'false',
    // as the server would be configured (PARSE_WORKERS from the environment when set), or as asked
    ...(process.env.PARSE_WORKERS !== undefined ? { PARSE_WORKERS: process.env.PARSE_WORKERS } : {}),
    ...(parseWorkers !== undefined ? { PARSE_WORKERS: String(parseWorkers) } : {}),
  });
  // As src/main.ts builds it: batches parsed by the worker threads while the event loop decides and appends
  const parser = createParseWorkers({ workers: config.PARSE_WORKERS });
  const writer = createWriter({ store, clock, parser });
  const server = createHttpServer(createApp({ config, store, clock, writer, logger: silentLogger() }), {
    keepAliveTimeoutMs: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}/api/v1/cities/${CITY}/events`;
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...extraHeaders };
  const write = (name: string, bodies: string[]) => {
    const file = join(dirname(path), name);
    writeFileSync(file, `${bodies.join('\n')}\n`);
    return file;
  };
  const files = feeds.map((bodies, i) => write(`feed-${i}.ndjson`, bodies));
  try {
    return await postFromChildProcess({
      url,
      headers,
      files,
      ...(prelude.length > 0 ? { prelude: write('prelude.ndjson', prelude) } : {}),
    });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await parser.close();
    await store.close();
  }
}

export const ingestWorkload: Workload = {
  name: 'ingest',
  description:
    'HTTP ingest of the seeded Bucharest (~90k realistic events) in batches of 1,000 on loopback, SQLite, validation and rules included, vs the store port appending the same events',
  async run({ scale }): Promise<BenchResult[]> {
    const { events, bodies, batches, now } = seedBatches(Math.max(0.15, 10 * scale));
    const writes = portBatches(batches, now.toISOString());
    const dir = mkdtempSync(join(tmpdir(), 'urban-twin-bench-ingest-'));
    try {
      const { prelude, feeds } = feedsOf(events);
      const ports: number[] = [];
      const singles: Awaited<ReturnType<typeof ingestOverHttp>>[] = [];
      const feds: Awaited<ReturnType<typeof ingestOverHttp>>[] = [];
      const minimals: Awaited<ReturnType<typeof ingestOverHttp>>[] = [];
      const threadeds: Awaited<ReturnType<typeof ingestOverHttp>>[] = [];
      const inProcess: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        ports.push(await appendThroughPort(join(dir, `port-${round}.sqlite`), writes));
        singles.push(await ingestOverHttp(join(dir, `http-${round}.sqlite`), now, [bodies]));
        feds.push(await ingestOverHttp(join(dir, `feeds-${round}.sqlite`), now, feeds, { prelude }));
        minimals.push(
          await ingestOverHttp(join(dir, `minimal-${round}.sqlite`), now, [bodies], {
            headers: { prefer: 'return=minimal' },
          }),
        );
        // The same single feeder with two parse workers, whatever this machine's default
        threadeds.push(
          await ingestOverHttp(join(dir, `workers-${round}.sqlite`), now, [bodies], { parseWorkers: 2 }),
        );
        inProcess.push(await ingestInProcess(join(dir, `writer-${round}.sqlite`), batches, now));
      }
      const fastest = <T extends { seconds: number }>(runs: T[]) =>
        runs.reduce((best, run) => (run.seconds < best.seconds ? run : best));
      const portSeconds = Math.min(...ports);
      const http = fastest(singles);
      const fed = fastest(feds);
      const minimal = fastest(minimals);
      // Each round's one-feeder run against the port run just before it: how far the drift moves the ratio
      const roundRatios = singles.map((run, i) => ports[i]! / run.seconds);
      const worst = roundRatios.indexOf(Math.min(...roundRatios));
      const threaded = fastest(threadeds);
      const writerSeconds = Math.min(...inProcess);
      const portRate = events.length / portSeconds;
      const httpRate = events.length / http.seconds;
      const bytes = bodies.reduce((sum, b) => sum + b.length, 0) / events.length;
      return [
        result({
          workload: 'ingest',
          metric: `HTTP ingest, ${events.length} events (${Math.round(bytes)} B each), best of ${ROUNDS}`,
          value: httpRate,
          unit: 'events/s',
          baseline: portRate,
          goal: '>= 50% of the port append rate',
          met: httpRate >= 0.5 * portRate,
        }),
        result({
          workload: 'ingest',
          metric: `HTTP ingest, same events from ${FEEDERS} feeders side by side, best of ${ROUNDS}`,
          value: events.length / fed.seconds,
          unit: 'events/s',
          baseline: portRate,
          goal: '>= 50% of the port append rate',
          met: events.length / fed.seconds >= 0.5 * portRate,
        }),
        result({
          workload: 'ingest',
          metric: `HTTP ingest, one feeder, in the round with the lowest ratio (of ${ROUNDS}; ratios ${roundRatios.map((r) => r.toFixed(3)).join(', ')})`,
          value: events.length / singles[worst]!.seconds,
          unit: 'events/s',
          baseline: events.length / ports[worst]!,
        }),
        result({
          workload: 'ingest',
          metric: `HTTP ingest, one feeder asking for a summary answer (Prefer: return=minimal), best of ${ROUNDS}`,
          value: events.length / minimal.seconds,
          unit: 'events/s',
          baseline: portRate,
        }),
        result({
          workload: 'ingest',
          metric: `HTTP ingest, one feeder, PARSE_WORKERS=2, best of ${ROUNDS}`,
          value: events.length / threaded.seconds,
          unit: 'events/s',
          baseline: portRate,
        }),
        result({
          workload: 'ingest',
          metric: `write pipeline in process (no HTTP), same events, best of ${ROUNDS}`,
          value: events.length / writerSeconds,
          unit: 'events/s',
          baseline: portRate,
        }),
        result({
          workload: 'ingest',
          // The feeder shares this machine's cores with the server: what it takes of them
          metric: 'feeder process CPU in the one-feeder HTTP run (cores)',
          value: http.cpuSeconds / http.seconds,
          unit: 'cores',
          baseline: null,
        }),
        result({
          workload: 'ingest',
          metric: 'HTTP ingest latency p50 (batch of 1,000)',
          value: percentile(http.latencies, 50),
          unit: 'ms',
          baseline: null,
        }),
        result({
          workload: 'ingest',
          metric: 'HTTP ingest latency p95 (batch of 1,000)',
          value: percentile(http.latencies, 95),
          unit: 'ms',
          baseline: null,
        }),
      ];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
