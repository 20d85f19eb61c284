/**
 * The composition root: configuration -> logger -> event store -> services -> HTTP app -> listen, and a
 * graceful shutdown that undoes it in reverse. Each step is a short block; a new component adds its own
 * block (and, if it holds resources, an `onShutdown` closer).
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { seedCities } from '../seeds/seedCities.js';
import { ensureAdminKey } from './access/bootstrap.js';
import { createKeyRegistry } from './access/keyRegistry.js';
import { disconnectRevokedKeys } from './access/liveRevocation.js';
import { loadConfig } from './config.js';
import { systemClock } from './core/clock.js';
import { createLogger } from './core/logger.js';
import { createEventStore } from './eventStore/createEventStore.js';
import { createApp } from './http/app.js';
import type { AppDeps, ReadinessCheck } from './http/deps.js';
import { createHttpServer } from './http/server.js';
import { attachLiveGateway, liveOptionsFromConfig, liveTwinSourceOf } from './realtime/gateway.js';
import { createGeofenceRegistry } from './realtime/geofenceRegistry.js';
import { liveScenariosOf } from './realtime/scenarioFeed.js';
import { ScenarioService } from './scenarios/service.js';
import { createCityTimeTravel } from './timeTravel/cityTwinAdapter.js';
import { createCityTwin } from './twin/cityTwin.js';
import { createProjectionRunner } from './twin/projectionRunner.js';
import { createTwinRegistry } from './twin/registry.js';
import { createFileSnapshotStore, createMemorySnapshotStore } from './twin/snapshotStore.js';
import { createParseWorkers } from './write/parseWorkers.js';
import { createWriter } from './write/writer.js';

type Closer = { name: string; close: () => Promise<void> | void };
const closers: Closer[] = [];
/** Registers something to close on shutdown; closed in reverse order of registration. */
function onShutdown(name: string, close: Closer['close']): void {
  closers.push({ name, close });
}

async function main(): Promise<void> {
  // 1. configuration: a bad variable stops the process with a message naming it
  const config = loadConfig();
  const logger = createLogger({ LOG_LEVEL: config.LOG_LEVEL });
  const clock = systemClock;

  // 2. the event store
  if (config.EVENT_STORE === 'sqlite') mkdirSync(config.DATA_DIR, { recursive: true });
  const store = await createEventStore({
    kind: config.EVENT_STORE,
    dataDir: config.DATA_DIR,
    sqliteWriterThread: config.SQLITE_WRITER_THREAD,
    ...(config.EVENTSTORE_URL ? { eventstoreUrl: config.EVENTSTORE_URL } : {}),
  });
  onShutdown('event store', () => store.close());
  await store.ping();
  logger.info({ store: store.name, dataDir: config.DATA_DIR }, 'event store open');

  // 3. the write pipeline: the one way events enter (ingest, seeds, imports, scenarios)
  // Batches are parsed in worker threads (PARSE_WORKERS) while the event loop decides and appends.
  const parser = createParseWorkers({ workers: config.PARSE_WORKERS });
  onShutdown('parse workers', () => parser.close());
  const writer = createWriter({ store, clock, parser });

  // 3b. the seeded demo cities, once: a city whose stream exists is left as it is (SEED=false turns it off)
  if (config.SEED) {
    const seeded = await seedCities({ store, clock, writer, scale: config.SEED_SCALE });
    for (const r of seeded) {
      logger.info({ city: r.city, appended: r.appended }, r.skipped ? 'city already seeded' : 'city seeded');
    }
  }
  const readiness: ReadinessCheck[] = [];

  // 3c. the city twins: the latest snapshot (in DATA_DIR) plus the feed since; GET /ready waits for catch-up
  const twins = createTwinRegistry();
  const snapshotEvery = config.SNAPSHOT_EVERY_EVENTS || Number.POSITIVE_INFINITY;
  const runner = createProjectionRunner({
    store,
    twins,
    logger,
    snapshots:
      config.EVENT_STORE === 'memory'
        ? createMemorySnapshotStore()
        : createFileSnapshotStore(join(config.DATA_DIR, 'twin')),
    snapshotEveryEvents: snapshotEvery,
    ...(config.SNAPSHOT_EVERY_EVENTS === 0 ? { snapshotEveryMs: Number.POSITIVE_INFINITY } : {}),
  });
  await runner.start();
  onShutdown('twin projection', () => runner.stop());
  readiness.push({
    name: 'twin',
    check: async () => ({
      ready: runner.caughtUp,
      detail: { position: runner.position?.toString() ?? null },
    }),
  });

  // 3d. geofences, followed from the store (the live gateway watches them, the routes list and replay them)
  const geofences = createGeofenceRegistry(store);
  await geofences.start();
  onShutdown('geofences', () => geofences.close());

  // 3e. API keys: the registry follows the apikey-* streams live (keys made or revoked by `twin keys` take
  // effect at once); on a store without any key, the first admin key is generated and printed once
  const keys = createKeyRegistry(store, { clock });
  await keys.start();
  onShutdown('api keys', () => keys.close());
  const bootstrap = await ensureAdminKey(keys, {
    presetKey: config.ADMIN_KEY,
    print: (text) => process.stdout.write(text),
  });
  if (bootstrap.kind !== 'none') logger.info({ keyId: bootstrap.keyId }, `admin key ${bootstrap.kind}`);

  // 3f. time travel (as-of queries; its index and snapshots persist under DATA_DIR/time-travel) and scenarios.
  // The index is built in the background; the first as-of query waits for it.
  const timeTravel = createCityTimeTravel({
    store,
    ...(config.EVENT_STORE === 'memory' ? {} : { dir: join(config.DATA_DIR, 'time-travel') }),
    snapshotEvery: config.TIME_TRAVEL_SNAPSHOT_EVERY,
    live: (city) => twins.get(city),
  });
  timeTravel.sync().catch((err: unknown) => logger.error({ err }, 'time travel index failed'));
  onShutdown('time travel', () => timeTravel.close());
  const scenarios = new ScenarioService({ store, clock, timeTravel });

  // 4. the HTTP app and server
  const deps: AppDeps = {
    config,
    store,
    clock,
    logger,
    writer,
    readiness,
    twins,
    runner,
    geofences,
    timeTravel,
    scenarios,
  };
  deps.keys = keys;
  const app = createApp(deps);
  const server = createHttpServer(app, { keepAliveTimeoutMs: config.HTTP_KEEP_ALIVE_TIMEOUT_MS });
  // the live twin on the same server: Socket.IO namespace /live, fed by this node's own projection runner
  const live = attachLiveGateway(server, {
    store,
    twin: liveTwinSourceOf(runner),
    geofences,
    scratchTwin: createCityTwin,
    authenticate: (token) => keys.authenticate(token),
    allowAnonymousReads: config.ALLOW_ANONYMOUS_READS,
    scenarios: liveScenariosOf(scenarios),
    options: liveOptionsFromConfig(config),
    logger,
  });
  // a key revoked later (HTTP, CLI, another node) also loses the live connections it opened
  disconnectRevokedKeys(keys, live.io.of('/live'));
  onShutdown('http server', () => closeServer(server));
  // closed before the server (shutdown runs in reverse), so open sockets do not hold the server's close
  onShutdown('live gateway', () => live.close());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => resolve());
  });
  logger.info({ host: config.HOST, port: config.PORT }, `listening on http://${config.HOST}:${config.PORT}`);

  // 5. graceful shutdown on SIGINT / SIGTERM
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    for (const closer of [...closers].reverse()) {
      try {
        await closer.close();
      } catch (err) {
        logger.error({ err, component: closer.name }, 'error while closing');
      }
    }
    logger.flush();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

/** Stops accepting connections, lets in-flight requests finish, and ends idle keep-alive sockets. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    // Requests still running after 10 s are cut, so a stuck client cannot hold the shutdown.
    setTimeout(() => server.closeAllConnections(), 10_000).unref();
  });
}

main().catch(async (err: unknown) => {
  // Configuration and startup errors are for the operator: the message, not a stack trace.
  console.error(err instanceof Error ? `urban-twin failed to start: ${err.message}` : err);
  for (const closer of [...closers].reverse()) await Promise.resolve(closer.close()).catch(() => undefined);
  process.exit(1);
});
