/**
 * Live twin fan-out: 5,000 vehicle position reports per second ingested over HTTP (POST .../events, batches of
 * 100, through the writer into SQLite), projected by the twin and pushed by /live to 500 socket.io-client
 * consoles (in a separate process), each subscribed to one tenth of the city (~500 updates/s each), for
 * 60 s x scale. Measured: p99 latency from the report's `occurredAt` (stamped when it is sent) to the console,
 * gaps and duplicates (each console checks every message's continuity), RSS at the start and the end.
 * Baseline in the same run: the same updates, batched per 100 ms, broadcast raw with socket.io rooms to the
 * same number of consoles (no HTTP, no store, no twin).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server } from 'socket.io';
import { mulberry32 } from '../../seeds/prng.js';
import { createKeyRegistry } from '../../src/access/keyRegistry.js';
import { loadConfig } from '../../src/config.js';
import { systemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { createSqliteEventStore } from '../../src/eventStore/sqlite.js';
import { createApp } from '../../src/http/app.js';
import { attachLiveGateway, liveTwinSourceOf } from '../../src/realtime/gateway.js';
import { createGeofenceRegistry } from '../../src/realtime/geofenceRegistry.js';
import { liveParser } from '../../src/realtime/wireParser.js';
import { createCityTwin } from '../../src/twin/cityTwin.js';
import { createProjectionRunner } from '../../src/twin/projectionRunner.js';
import { createWriter } from '../../src/write/writer.js';
import { type BenchResult, result, type Workload } from '../harness.js';

const CITY = 'benchville';
const WEST = 26.0;
const SOUTH = 44.35;
const EAST = 26.25;
const NORTH = 44.55;
const RATE = 5_000;
const CLIENTS = 500;
const VEHICLES = 5_000;
const BATCH = 100;
/** 5 x 2 tiles: each a tenth of the city. */
const TILES: Array<[number, number, number, number]> = [];
for (let row = 0; row < 2; row++) {
  for (let col = 0; col < 5; col++) {
    const w = WEST + ((EAST - WEST) / 5) * col;
    const s = SOUTH + ((NORTH - SOUTH) / 2) * row;
    TILES.push([w, s, w + (EAST - WEST) / 5, s + (NORTH - SOUTH) / 2]);
  }
}
const tileOf = (lon: number, lat: number) =>
  Math.min(1, Math.floor(((lat - SOUTH) / (NORTH - SOUTH)) * 2)) * 5 +
  Math.min(4, Math.floor(((lon - WEST) / (EAST - WEST)) * 5));

/** Seeded vehicles on a random walk inside the city; `next()` moves the next one round-robin. */
function fleet(seed: number) {
  const random = mulberry32(seed);
  const at = Array.from({ length: VEHICLES }, () => [
    WEST + random() * (EAST - WEST),
    SOUTH + random() * (NORTH - SOUTH),
  ]);
  let i = 0;
  return {
    at,
    next() {
      const k = i++ % VEHICLES;
      const p = at[k]!;
      p[0] = Math.min(EAST - 1e-6, Math.max(WEST + 1e-6, p[0]! + (random() - 0.5) * 0.004));
      p[1] = Math.min(NORTH - 1e-6, Math.max(SOUTH + 1e-6, p[1]! + (random() - 0.5) * 0.003));
      return { id: `bus-${k}`, lon: Number(p[0]!.toFixed(6)), lat: Number(p[1]!.toFixed(6)) };
    },
  };
}

const mb = () => Math.round(process.memoryUsage().rss / 1e5) / 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function ask<T>(child: ChildProcess, command: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    child.once('message', (reply: { ok: boolean; error?: string }) =>
      reply.ok ? resolve(reply as T) : reject(new Error(reply.error)),
    );
    child.send(command as object);
  });
}

interface Report {
  samples: number;
  messages: number;
  p50: number;
  p99: number;
  max: number;
  gaps: number;
  duplicates: number;
  resyncs: number;
}

export const liveWorkload: Workload = {
  name: 'live',
  description:
    '5,000 position reports/s over HTTP -> twin -> /live to 500 consoles (a tenth of the city each) vs a raw socket.io room broadcast',
  async run({ scale }) {
    const seconds = Math.max(5, Math.round(60 * scale));
    const baselineSeconds = Math.max(3, Math.round(20 * scale));
    const dir = mkdtempSync(join(tmpdir(), 'urban-twin-live-'));
    const store = createSqliteEventStore(join(dir, 'events.sqlite'));
    const writer = createWriter({ store, clock: systemClock });
    const keys = createKeyRegistry(store);
    const operator = (
      await keys.create({ role: 'operator', cities: [CITY] }, { actor: 'bench', source: 'bench' })
    ).key;
    const viewer = (
      await keys.create({ role: 'viewer', cities: [CITY] }, { actor: 'bench', source: 'bench' })
    ).key;
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
    const vehicles = fleet(7);
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

    const runner = createProjectionRunner({ store, snapshotEveryEvents: Number.POSITIVE_INFINITY });
    await runner.start();
    await runner.waitUntilCaughtUp(60_000);
    const geofences = createGeofenceRegistry(store);
    await geofences.start();
    const app = createApp({
      config: loadConfig({ EVENT_STORE: 'sqlite', SEED: 'false', LOG_LEVEL: 'silent' }),
      store,
      clock: systemClock,
      logger: silentLogger(),
      keys,
      writer,
      geofences,
      twins: runner.twins,
      runner,
    });
    const server = createServer(app);
    const io = new Server(server, { serveClient: false, parser: liveParser });
    const live = attachLiveGateway(io, {
      store,
      twin: liveTwinSourceOf(runner),
      geofences,
      scratchTwin: createCityTwin,
      authenticate: (token) => keys.authenticate(token),
    });
    // The baseline's raw rooms, on the same Socket.IO server.
    io.of('/raw').on('connection', (socket) => {
      const tile = Number((socket.handshake.auth as { tile?: number }).tile ?? 0);
      void socket.join(`tile-${tile}`);
      socket.emit('ready');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const clientScript = join(dirname(fileURLToPath(import.meta.url)), 'liveClients.ts');
    const child = fork(clientScript, { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
    const rows: BenchResult[] = [];
    try {
      // ---- the live twin ---------------------------------------------------------------------------
      await ask(child, {
        cmd: 'connect',
        mode: 'live',
        url,
        token: viewer,
        city: CITY,
        tiles: TILES,
        clients: CLIENTS,
      });
      const rssStart = mb();
      const rssSamples: number[] = [rssStart];
      const started = Date.now();
      let sent = 0;
      let inFlight = 0;
      let failed = 0;
      const post = async (body: string) => {
        inFlight++;
        try {
          const res = await fetch(`${url}/api/v1/cities/${CITY}/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${operator}` },
            body,
          });
          if (res.status !== 201) failed++;
          await res.arrayBuffer();
        } finally {
          inFlight--;
        }
      };
      let lastRss = started;
      while (Date.now() - started < seconds * 1_000) {
        const due = Math.floor(((Date.now() - started) / 1_000) * RATE);
        while (sent + BATCH <= due && inFlight < 16) {
          const occurredAt = new Date().toISOString();
          const events = Array.from({ length: BATCH }, () => {
            const v = vehicles.next();
            return {
              type: 'VehiclePositionReported',
              entityId: v.id,
              data: { location: { type: 'Point', coordinates: [v.lon, v.lat] } },
              occurredAt,
            };
          });
          void post(JSON.stringify({ source: 'bench', events }));
          sent += BATCH;
        }
        if (Date.now() - lastRss >= 5_000) {
          rssSamples.push(mb());
          lastRss = Date.now();
        }
        await sleep(2);
      }
      while (inFlight > 0) await sleep(5);
      const ingestSeconds = (Date.now() - started) / 1_000;
      const head = await store.headPosition();
      if (head !== undefined) await runner.waitForPosition(head, 60_000);
      await sleep(1_000);
      const rssEnd = mb();
      const liveReport = await ask<Report>(child, { cmd: 'report' });
      await ask(child, { cmd: 'close' });

      // ---- the gateway alone: the same reports appended through the store port (no HTTP, no writer) ----
      await ask(child, {
        cmd: 'connect',
        mode: 'live',
        url,
        token: viewer,
        city: CITY,
        tiles: TILES,
        clients: CLIENTS,
      });
      const portStart = Date.now();
      let portSent = 0;
      while (Date.now() - portStart < baselineSeconds * 1_000) {
        const due = Math.floor(((Date.now() - portStart) / 1_000) * RATE);
        while (portSent + BATCH <= due) {
          const occurredAt = new Date().toISOString();
          const writes = Array.from({ length: BATCH }, () => {
            const v = vehicles.next();
            return {
              stream: `mobility-${CITY}.${v.id}`,
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
          portSent += BATCH;
        }
        await sleep(2);
      }
      const portHead = await store.headPosition();
      if (portHead !== undefined) await runner.waitForPosition(portHead, 60_000);
      await sleep(1_000);
      const portReport = await ask<Report>(child, { cmd: 'report' });
      await ask(child, { cmd: 'close' });

      // ---- the baseline: the same updates, raw, per 100 ms, to rooms --------------------------------
      await ask(child, {
        cmd: 'connect',
        mode: 'raw',
        url,
        token: viewer,
        city: CITY,
        tiles: TILES,
        clients: CLIENTS,
      });
      const raw = io.of('/raw');
      const baseStart = Date.now();
      let baseSent = 0;
      let pending: Array<Array<{ id: string; c: number[]; t: number }>> = TILES.map(() => []);
      let lastFlush = baseStart;
      while (Date.now() - baseStart < baselineSeconds * 1_000) {
        const due = Math.floor(((Date.now() - baseStart) / 1_000) * RATE);
        while (baseSent < due) {
          const v = vehicles.next();
          pending[tileOf(v.lon, v.lat)]!.push({ id: v.id, c: [v.lon, v.lat], t: Date.now() });
          baseSent++;
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
      await sleep(1_000);
      const baseReport = await ask<Report>(child, { cmd: 'report' });
      await ask(child, { cmd: 'close' });

      const liveRate = liveReport.samples / ingestSeconds;
      const baseRate = baseReport.samples / ((Date.now() - baseStart - 1_000) / 1_000);
      rows.push(
        result({
          workload: 'live',
          metric: 'p99 ingest-to-console latency',
          value: liveReport.p99,
          unit: 'ms',
          baseline: baseReport.p99,
          goal: '< 250 ms',
          met: liveReport.p99 < 250,
        }),
        result({
          workload: 'live',
          metric: 'p99 store-to-console latency (port appends, no HTTP)',
          value: portReport.p99,
          unit: 'ms',
          baseline: baseReport.p99,
        }),
        result({
          workload: 'live',
          metric: 'update deliveries per second (port appends)',
          value: portReport.samples / baselineSeconds,
          unit: '/s',
          baseline: null,
        }),
        result({
          workload: 'live',
          metric: 'gaps + duplicates (port appends)',
          value: portReport.gaps + portReport.duplicates,
          unit: 'count',
          baseline: null,
          goal: '0',
          met: portReport.gaps + portReport.duplicates === 0,
        }),
        result({
          workload: 'live',
          metric: 'p50 ingest-to-console latency',
          value: liveReport.p50,
          unit: 'ms',
          baseline: baseReport.p50,
        }),
        result({
          workload: 'live',
          metric: 'update deliveries per second',
          value: liveRate,
          unit: '/s',
          baseline: baseRate,
        }),
        result({
          workload: 'live',
          metric: 'ingested reports per second (target 5,000)',
          value: sent / ingestSeconds,
          unit: '/s',
          baseline: RATE,
        }),
        result({
          workload: 'live',
          metric: 'rejected ingest requests',
          value: failed,
          unit: 'requests',
          baseline: null,
        }),
        result({
          workload: 'live',
          metric: 'gaps',
          value: liveReport.gaps,
          unit: 'count',
          baseline: null,
          goal: '0',
          met: liveReport.gaps === 0,
        }),
        result({
          workload: 'live',
          metric: 'duplicates',
          value: liveReport.duplicates,
          unit: 'count',
          baseline: null,
          goal: '0',
          met: liveReport.duplicates === 0,
        }),
        result({
          workload: 'live',
          metric: 'slow-consumer resyncs',
          value: liveReport.resyncs,
          unit: 'count',
          baseline: null,
        }),
        result({
          workload: 'live',
          metric: 'server RSS at start',
          value: rssStart,
          unit: 'MB',
          baseline: null,
        }),
        result({
          workload: 'live',
          metric: `server RSS at end (${seconds} s; max ${Math.max(...rssSamples)} MB)`,
          value: rssEnd,
          unit: 'MB',
          baseline: rssStart,
          goal: 'flat (< 1.5x start)',
          met: rssEnd < rssStart * 1.5,
        }),
      );
    } finally {
      child.kill();
      await live.close();
      io.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await geofences.close();
      await runner.stop();
      await keys.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
    return rows;
  },
};
