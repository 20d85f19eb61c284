/**
 * The server under test of the live benchmark, in its own process so that what it measures (CPU, RSS) is
 * the server's alone: SQLite store, writer, projection runner, the HTTP app and `/live` on one Socket.IO
 * server, plus the baseline's raw namespace `/raw` on the same server. Run with `--expose-gc` so that RSS
 * is read after a full collection. Driven over IPC by bench/workloads/live.ts; every command is answered
 * with `{ok: true, ...}` or `{ok: false, error}`:
 * - `start`: builds the city (5,000 registered buses) and listens; answers `{url, operator, viewer}`
 * - `rss` `{gc, resetLoopDelay?}`: the event loop's delay p99 and max since the last reset (ms), RSS, JS heap
 *   used, external and ArrayBuffer memory in MB (after a forced full GC
 *   when `gc`), and the CPU time used so far (µs)
 * - `drain`: waits until the twin has applied the store's head; answers the gateway's fan-out counters
 * - `port` `{seconds}`: appends RATE reports/s straight through the store port (no HTTP, no writer)
 * - `raw` `{seconds}`: broadcasts the same kind of updates raw to the tile rooms, batched per 100 ms
 *   (both answer the server's CPU time over the phase, `cpuMicros`)
 * - `close`: closes everything and exits (so a `--cpu-prof` profile is written)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Server } from 'socket.io';
import { createKeyRegistry } from '../../src/access/keyRegistry.js';
import { loadConfig } from '../../src/config.js';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { createSqliteEventStore } from '../../src/eventStore/sqlite.js';
import { createApp } from '../../src/http/app.js';
import { createHttpServer } from '../../src/http/server.js';
import { attachLiveGateway, liveTwinSourceOf } from '../../src/realtime/gateway.js';
import { createGeofenceRegistry } from '../../src/realtime/geofenceRegistry.js';
import { liveParser } from '../../src/realtime/wireParser.js';
import { createCityTwin } from '../../src/twin/cityTwin.js';
import { createProjectionRunner } from '../../src/twin/projectionRunner.js';
import { createWriter } from '../../src/write/writer.js';
import {
  BATCH,
  CITY,
  EAST,
  fleet,
  NORTH,
  RATE,
  SOUTH,
  sleep,
  TILES,
  tileOf,
  VEHICLES,
  WEST,
} from './liveCity.js';

type Command =
  | { cmd: 'start' }
  | { cmd: 'rss'; gc: boolean; resetLoopDelay?: boolean }
  | { cmd: 'drain' }
  | { cmd: 'port'; seconds: number }
  | { cmd: 'raw'; seconds: number }
  | { cmd: 'close' };

const dir = mkdtempSync(join(tmpdir(), 'urban-twin-live-'));
// As the server opens it (src/main.ts): appends on the writer thread when SQLITE_WRITER_THREAD=true
const store = createSqliteEventStore(join(dir, 'events.sqlite'), {
  writerThread: loadConfig({ SQLITE_WRITER_THREAD: process.env.SQLITE_WRITER_THREAD }).SQLITE_WRITER_THREAD,
});
const writer = createWriter({ store, clock: systemClock });
const keys = createKeyRegistry(store);
const runner = createProjectionRunner({ store, snapshotEveryEvents: Number.POSITIVE_INFINITY });
const geofences = createGeofenceRegistry(store);
const vehicles = fleet(7);
let close: (() => Promise<void>) | undefined;
let io: Server | undefined;
let stats: (() => { groups: number; sharedSends: number; ownSends: number }) | undefined;

async function start() {
  await store.writerThreadReady();
  const operator = (
    await keys.create({ role: 'operator', cities: [CITY] }, { actor: 'bench', source: 'bench' })
  ).key;
  const viewer = (await keys.create({ role: 'viewer', cities: [CITY] }, { actor: 'bench', source: 'bench' }))
    .key;
  const ctx = { actor: 'bench', source: 'bench', correlationId: 'bench-setup' };
  const ring = [
    [WEST, SOUTH],
    [EAST, SOUTH],
    [EAST, NORTH],
    [WEST, NORTH],
    [WEST, SOUTH],
  ];
  await writer.appendBatch(
    CITY,
    [
      {
        type: 'CityRegistered',
        data: {
          name: 'Benchville',
          country: 'RO',
          timezone: 'Europe/Bucharest',
          boundary: { type: 'Polygon', coordinates: [ring] },
          population: 1_000_000,
          districts: [],
        },
      },
    ],
    ctx,
  );
  for (let i = 0; i < VEHICLES; i += 1_000) {
    await writer.appendBatch(
      CITY,
      vehicles.at.slice(i, i + 1_000).map((p, k) => ({
        type: 'MobilityAssetRegistered',
        entityId: `bus-${i + k}`,
        data: { kind: 'bus', location: { type: 'Point', coordinates: [p[0]!, p[1]!] }, operator: 'bench' },
      })),
      ctx,
    );
  }
  await runner.start();
  await runner.waitUntilCaughtUp(60_000);
  await geofences.start();
  // The feeder is one operator key posting 50 requests/s: its limit is set for that (the default,
  // 1,200/min, would answer 429 beyond 20 requests/s), and the limiter stays on, as in production.
  const config = loadConfig({
    EVENT_STORE: 'sqlite',
    SEED: 'false',
    LOG_LEVEL: 'silent',
    RATE_LIMIT_PER_MINUTE: '12000',
  });
  const app = createApp({
    config,
    store,
    clock: systemClock,
    logger: silentLogger(),
    keys,
    writer,
    geofences,
    twins: runner.twins,
    runner,
  });
  const server = createHttpServer(app, { keepAliveTimeoutMs: config.HTTP_KEEP_ALIVE_TIMEOUT_MS });
  const sio = new Server(server, { serveClient: false, parser: liveParser });
  io = sio;
  const live = attachLiveGateway(sio, {
    store,
    twin: liveTwinSourceOf(runner),
    geofences,
    scratchTwin: createCityTwin,
    authenticate: (token) => keys.authenticate(token),
  });
  // The baseline's raw rooms, on the same Socket.IO server.
  sio.of('/raw').on('connection', (socket) => {
    const tile = Number((socket.handshake.auth as { tile?: number }).tile ?? 0);
    void socket.join(`tile-${tile}`);
    socket.emit('ready');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stats = () => live.stats();
  close = async () => {
    await live.close();
    sio.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, operator, viewer };
}

async function drain() {
  const head = await store.headPosition();
  if (head !== undefined) await runner.waitForPosition(head, 120_000);
}

/**
 * The same reports appended through the store port, as a second writer in the process would: each at its
 * stream's exact next revision, as the write path appends (an `any` append makes the store compare the ids
 * against the stream's whole history, which grows through the run).
 */
async function portAppends(seconds: number) {
  const revisions = new Map<string, number>();
  for (let k = 0; k < VEHICLES; k++) {
    const stream = `mobility-${CITY}.bus-${k}`;
    for await (const last of store.readStream(stream, { direction: 'backwards', maxCount: 1 })) {
      revisions.set(stream, last.revision);
    }
  }
  const started = Date.now();
  const cpu = process.cpuUsage();
  let sent = 0;
  while (Date.now() - started < seconds * 1_000) {
    const due = Math.floor(((Date.now() - started) / 1_000) * RATE);
    while (sent + BATCH <= due) {
      const occurredAt = new Date().toISOString();
      const writes = Array.from({ length: BATCH }, () => {
        const v = vehicles.next();
        const stream = `mobility-${CITY}.${v.id}`;
        const expectedRevision = revisions.get(stream) ?? -1;
        revisions.set(stream, expectedRevision + 1);
        return {
          stream,
          expectedRevision: expectedRevision < 0 ? ('no_stream' as const) : expectedRevision,
          events: [
            {
              id: crypto.randomUUID(),
              type: 'VehiclePositionReported',
              data: { location: { type: 'Point', coordinates: [v.lon, v.lat] } },
              metadata: {
                actor: 'bench',
                source: 'bench',
                occurredAt,
                correlationId: 'bench',
                causationId: null,
              },
            },
          ],
        };
      });
      await store.appendMany(writes);
      sent += BATCH;
    }
    await sleep(2);
  }
  await drain();
  const { user, system } = process.cpuUsage(cpu);
  return { sent, seconds: (Date.now() - started) / 1_000, cpuMicros: user + system };
}

/** The baseline: the same kind of updates, batched per 100 ms, emitted raw to the tile rooms. */
async function rawBroadcast(seconds: number) {
  const raw = io!.of('/raw');
  const started = Date.now();
  const cpu = process.cpuUsage();
  let sent = 0;
  let pending: Array<Array<{ id: string; c: number[]; t: number }>> = TILES.map(() => []);
  let lastFlush = started;
  while (Date.now() - started < seconds * 1_000) {
    const due = Math.floor(((Date.now() - started) / 1_000) * RATE);
    while (sent < due) {
      const v = vehicles.next();
      pending[tileOf(v.lon, v.lat)]!.push({ id: v.id, c: [v.lon, v.lat], t: Date.now() });
      sent++;
    }
    if (Date.now() - lastFlush >= 100) {
      pending.forEach((batch, tile) => {
        if (batch.length > 0) raw.to(`tile-${tile}`).emit('raw', batch);
      });
      pending = TILES.map(() => []);
      lastFlush = Date.now();
    }
    await sleep(2);
  }
  const { user, system } = process.cpuUsage(cpu);
  return { sent, seconds: (Date.now() - started) / 1_000, cpuMicros: user + system };
}

const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;
/** How late the server's event loop runs its callbacks: what a stalled thread adds to every delivery. */
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

const memory = (gc: boolean, resetLoopDelay = false) => {
  const loopDelayP99Ms = loopDelay.percentile(99) / 1e6;
  const loopDelayMaxMs = loopDelay.max / 1e6;
  if (resetLoopDelay) loopDelay.reset();
  if (gc) (globalThis as { gc?: () => void }).gc?.();
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  const { user, system } = process.cpuUsage();
  return {
    rss: mb(rss),
    heap: mb(heapUsed),
    heapTotal: mb(heapTotal),
    external: mb(external),
    arrayBuffers: mb(arrayBuffers),
    cpuMicros: user + system,
    loopDelayP99Ms,
    loopDelayMaxMs,
  };
};

process.on('message', async (command: Command) => {
  try {
    if (command.cmd === 'start') process.send?.({ ok: true, ...(await start()) });
    else if (command.cmd === 'rss')
      process.send?.({ ok: true, ...memory(command.gc, command.resetLoopDelay) });
    else if (command.cmd === 'drain') {
      await drain();
      process.send?.({ ok: true, ...stats?.() });
    } else if (command.cmd === 'port') process.send?.({ ok: true, ...(await portAppends(command.seconds)) });
    else if (command.cmd === 'raw') process.send?.({ ok: true, ...(await rawBroadcast(command.seconds)) });
    else {
      await close?.();
      await geofences.close();
      await runner.stop();
      await keys.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
      process.send?.({ ok: true }, () => process.exit(0));
    }
  } catch (error) {
    process.send?.({ ok: false, error: String((error as Error).stack ?? error) });
  }
});
