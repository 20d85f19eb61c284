/**
 * The server as `npm start` runs it (src/main.ts in its own process), configured with EVENT_STORE=esdb:
 * it seeds the cities through the EventStoreDB adapter, projects them from the $all subscription and serves
 * them over HTTP; an ingested building then shows up in the twin. Always against the wire-level test
 * server; also against a real EventStoreDB when EVENTSTORE_URL is set.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createEsdbEventStore } from '../../src/eventStore/esdb/esdbEventStore.js';
import { eventually } from '../support/auth.js';
import { startEsdbTestServer } from '../support/esdbTestServer/index.js';
import { sector3Footprints } from '../write/fixtures.js';

const ADMIN_KEY = `e2e-admin-${randomUUID()}`;

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

interface RunningApp {
  base: string;
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts src/main.ts against `eventstoreUrl` and resolves once GET /ready answers 200. */
async function startApp(eventstoreUrl: string): Promise<RunningApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'urban-twin-esdb-app-'));
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      NODE_ENV: 'test',
      EVENT_STORE: 'esdb',
      EVENTSTORE_URL: eventstoreUrl,
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      SEED: 'true',
      // The smallest demo cities (about 1,200 events): every layer is there, the run stays short.
      SEED_SCALE: '0.01',
      ALLOW_ANONYMOUS_READS: 'true',
      ADMIN_KEY,
      LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'warn',
    },
  });
  let output = '';
  child.stdout!.on('data', (chunk) => {
    output += chunk.toString();
  });
  child.stderr!.on('data', (chunk) => {
    output += chunk.toString();
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}): ${output}`);
      const res = await fetch(`${base}/ready`).catch(() => undefined);
      return res?.status === 200;
    }, 240_000);
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}; server output:\n${output.slice(-4000)}`);
  }
  return { base, output: () => output, stop };
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The end-to-end checks, the same on the test server and on a real EventStoreDB. */
async function servesSeededCitiesAndIngests(app: RunningApp): Promise<void> {
  const cities = await getJson(`${app.base}/api/v1/cities`);
  assert.is(cities.status, 200);
  const list = cities.body.cities as Array<{ id: string; counts?: Record<string, number> }>;
  assert.equal(list.map((c) => c.id).sort(), ['bucharest', 'cluj-napoca', 'suceava']);

  const layer = await getJson(`${app.base}/api/v1/cities/suceava/layers/buildings?limit=5`);
  assert.is(layer.status, 200, JSON.stringify(layer.body));
  assert.is(layer.body.type, 'FeatureCollection');
  assert.ok((layer.body.features as unknown[]).length > 0, 'seeded buildings are served');

  // Ingest -> twin -> query: a real Sector 3 footprint, under an entity id of this run.
  const footprint = sector3Footprints()[0]!.footprint;
  const entityId = `e2e-${randomUUID().slice(0, 8)}`;
  const ingest = await fetch(`${app.base}/api/v1/cities/bucharest/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
    body: JSON.stringify({
      events: [
        {
          id: randomUUID(),
          type: 'BuildingRegistered',
          entityId,
          data: {
            footprint,
            use: 'residential',
            yearBuilt: 1978,
            floors: 8,
            grossFloorAreaM2: 3600,
            district: 'sector-3',
          },
        },
      ],
      reason: 'end-to-end test on EventStoreDB',
    }),
  });
  const ingested = (await ingest.json()) as { results?: Array<{ stream: string }> };
  assert.is(ingest.status, 201, JSON.stringify(ingested));
  assert.is(ingested.results?.[0]?.stream, `building-bucharest.${entityId}`);

  let entity: { status: number; body: Record<string, unknown> } | undefined;
  await eventually(async () => {
    entity = await getJson(`${app.base}/api/v1/cities/bucharest/entities/${entityId}`);
    return entity.status === 200;
  }, 60_000);
  assert.is(entity!.body.type, 'Feature');
  assert.is(entity!.body.layer, 'buildings');
  assert.equal((entity!.body.geometry as { type: string }).type, 'Polygon');
}

const test = suite('the app on EventStoreDB');

test('started with EVENT_STORE=esdb against the wire-level server, serves the seeded cities end to end', async () => {
  const server = await startEsdbTestServer();
  let app: RunningApp | undefined;
  try {
    app = await startApp(server.url);
    await servesSeededCitiesAndIngests(app);
    // Everything went through the EventStoreDB client: the seeds are streams of the test server.
    assert.ok(server.calls.batchAppend > 0);
    const store = createEsdbEventStore(server.url);
    try {
      let cityEvents = 0;
      for await (const _ of store.readStream('city-suceava')) cityEvents++;
      assert.ok(cityEvents > 0, 'city-suceava is a stream on the EventStoreDB server');
    } finally {
      await store.close();
    }
  } finally {
    await app?.stop();
    await server.stop();
  }
});

const realUrl = process.env.EVENTSTORE_URL;
if (realUrl) {
  test(`started with EVENT_STORE=esdb against ${realUrl}, serves the seeded cities end to end`, async () => {
    const app = await startApp(realUrl);
    try {
      await servesSeededCitiesAndIngests(app);
    } finally {
      await app.stop();
    }
  });
} else {
  console.log('app end to end on a real EventStoreDB: skipped (EVENTSTORE_URL is not set)');
}

test.run();
