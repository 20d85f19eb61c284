/**
 * Appending realistic events through the SQLite store port (appendMany over many streams, batches of 1,000,
 * expected revisions as the ingest path passes them) beside raw better-sqlite3 inserts of the same rows into a
 * table with only a primary key: same run, same WAL and `synchronous` setting, fresh files, best of two
 * rounds each. Then one full readAll pass over what was appended (the basis of a twin rebuild) beside a raw
 * SELECT + JSON.parse of the same rows.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createRng } from '../../seeds/prng.js';
import { URBAN_TWIN_NAMESPACE, uuidFromName } from '../../src/core/ids.js';
import type { ExpectedRevision, StreamWrite } from '../../src/eventStore/port.js';
import { createSqliteEventStore } from '../../src/eventStore/sqlite.js';
import { type BenchResult, result, timeIt, type Workload } from '../harness.js';

const BATCH = 1_000;
const FLEET = 500;

/** Seeded batches of 1,000 events each: 100 buildings registered, 40 buildings x 10 meter readings, 50 vehicles x 10 positions. */
export function generate(total: number): StreamWrite[][] {
  const rng = createRng('bench:append');
  const revisions = new Map<string, number>();
  let n = 0;
  let buildings = 0;
  const newEvent = (type: string, data: Record<string, unknown>, occurredAt: string) => ({
    id: uuidFromName(URBAN_TWIN_NAMESPACE, `bench-append:${n++}`),
    type,
    data,
    metadata: {
      actor: 'importer:anaf-meter-feed',
      source: 'bench',
      occurredAt,
      correlationId: uuidFromName(URBAN_TWIN_NAMESPACE, `bench-corr:${Math.floor(n / BATCH)}`),
      causationId: null,
    },
  });
  const write = (stream: string, events: StreamWrite['events']): StreamWrite => {
    const current = revisions.get(stream);
    const expectedRevision: ExpectedRevision = current === undefined ? 'no_stream' : current;
    revisions.set(stream, (current ?? -1) + events.length);
    return { stream, events, expectedRevision };
  };
  const batches: StreamWrite[][] = [];
  for (let b = 0; b < Math.ceil(total / BATCH); b++) {
    const writes: StreamWrite[] = [];
    for (let i = 0; i < 100; i++) {
      const id = `b-${buildings++}`;
      const lon = rng.float(26.0, 26.2);
      const lat = rng.float(44.38, 44.5);
      writes.push(
        write(`building-bucharest.${id}`, [
          newEvent(
            'BuildingRegistered',
            {
              buildingId: id,
              use: rng.pick(['residential', 'office', 'school', 'hospital']),
              yearBuilt: rng.int(1950, 2020),
              floors: rng.int(1, 12),
              district: `sector-${rng.int(1, 6)}`,
              grossFloorAreaM2: rng.int(80, 20_000),
              footprint: {
                type: 'Polygon',
                coordinates: [
                  [
                    [lon, lat],
                    [lon + 0.0003, lat],
                    [lon + 0.0003, lat + 0.0002],
                    [lon, lat + 0.0002],
                    [lon, lat],
                  ],
                ],
              },
            },
            '2025-01-15T08:00:00Z',
          ),
        ]),
      );
    }
    for (let i = 0; i < 40; i++) {
      const id = `b-${rng.int(0, buildings - 1)}`;
      const readings = Array.from({ length: 10 }, (_, k) =>
        newEvent(
          'MeterReadingRecorded',
          {
            buildingId: id,
            meterId: `${id}-el-1`,
            carrier: rng.pick(['electricity', 'district-heating', 'natural-gas']),
            kWh: Math.round(rng.float(100, 20_000) * 10) / 10,
            periodStart: `2025-${String(k + 1).padStart(2, '0')}-01T00:00:00Z`,
            periodEnd: `2025-${String(k + 2).padStart(2, '0')}-01T00:00:00Z`,
            estimated: rng.chance(0.1),
            unit: 'kWh',
            meterSerial: `RO-EL-${rng.int(100_000, 999_999)}`,
          },
          '2025-11-02T06:00:00Z',
        ),
      );
      writes.push(write(`building-bucharest.${id}`, readings));
    }
    for (let i = 0; i < 50; i++) {
      const vehicle = `bus-${rng.int(0, FLEET - 1)}`;
      const positions = Array.from({ length: 10 }, (_, k) =>
        newEvent(
          'VehiclePositionReported',
          {
            assetId: vehicle,
            position: { type: 'Point', coordinates: [rng.float(26.0, 26.2), rng.float(44.38, 44.5)] },
            speedKmh: Math.round(rng.float(0, 60) * 10) / 10,
            heading: rng.int(0, 359),
            occupancy: rng.int(0, 90),
            routeId: `stb-${rng.int(1, 400)}`,
            odometerKm: rng.int(10_000, 900_000),
            occurredAt: `2025-11-02T07:${String(k).padStart(2, '0')}:00Z`,
          },
          `2025-11-02T07:${String(k).padStart(2, '0')}:00Z`,
        ),
      );
      writes.push(write(`mobility-bucharest.${vehicle}`, positions));
    }
    batches.push(writes);
  }
  return batches;
}

async function appendThroughPort(path: string, batches: StreamWrite[][]) {
  const store = createSqliteEventStore(path);
  const { seconds } = await timeIt(async () => {
    for (const writes of batches) await store.appendMany(writes);
  });
  await store.close();
  return seconds;
}

function rawInsert(path: string, batches: StreamWrite[][]) {
  const db = new Database(path);
  // The same settings the store uses.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('cache_size = -65536');
  db.exec(
    'CREATE TABLE events (position INTEGER PRIMARY KEY, stream TEXT, revision INTEGER, id TEXT, type TEXT, data TEXT, metadata TEXT, recorded_at TEXT)',
  );
  const insert = db.prepare(
    'INSERT INTO events (stream, revision, id, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const insertBatch = db.transaction((writes: StreamWrite[], recordedAt: string) => {
    for (const write of writes) {
      let revision = typeof write.expectedRevision === 'number' ? write.expectedRevision : -1;
      for (const e of write.events) {
        revision++;
        insert.run(
          write.stream,
          revision,
          e.id,
          e.type,
          JSON.stringify(e.data),
          JSON.stringify(e.metadata),
          recordedAt,
        );
      }
    }
  });
  const start = process.hrtime.bigint();
  for (const writes of batches) insertBatch(writes, new Date().toISOString());
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  db.close();
  return seconds;
}

async function readThroughPort(path: string) {
  const store = createSqliteEventStore(path);
  const { seconds, value } = await timeIt(async () => {
    let count = 0;
    for await (const _ of store.readAll()) count++;
    return count;
  });
  await store.close();
  return { seconds, count: value };
}

function rawRead(path: string) {
  const db = new Database(path, { readonly: true });
  const start = process.hrtime.bigint();
  let count = 0;
  for (const row of db
    .prepare(
      'SELECT position, stream, revision, id, type, data, metadata, recorded_at FROM events ORDER BY position',
    )
    .raw()
    .iterate() as IterableIterator<unknown[]>) {
    JSON.parse(row[5] as string);
    JSON.parse(row[6] as string);
    count++;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  db.close();
  return { seconds, count };
}

export const appendWorkload: Workload = {
  name: 'append',
  description:
    '200k realistic events (~400 B) in batches of 1,000 through the SQLite store port vs raw better-sqlite3 inserts; then a full readAll pass',
  async run({ scale }) {
    const total = Math.max(BATCH, Math.round(200_000 * scale));
    const batches = generate(total);
    const count = batches.length * BATCH;
    const dir = mkdtempSync(join(tmpdir(), 'urban-twin-bench-append-'));
    try {
      let port = Number.POSITIVE_INFINITY;
      let raw = Number.POSITIVE_INFINITY;
      // Interleaved rounds on fresh files, best of each: a shared machine's noise hits both alike.
      for (let round = 0; round < 2; round++) {
        raw = Math.min(raw, rawInsert(join(dir, `raw-${round}.sqlite`), batches));
        port = Math.min(port, await appendThroughPort(join(dir, `port-${round}.sqlite`), batches));
      }
      const portRead = await readThroughPort(join(dir, 'port-0.sqlite'));
      const rawReadResult = rawRead(join(dir, 'raw-0.sqlite'));
      if (portRead.count !== count || rawReadResult.count !== count) {
        throw new Error(`read ${portRead.count} / ${rawReadResult.count} events, appended ${count}`);
      }
      const appendRate = count / port;
      const rawRate = count / raw;
      const readRate = count / portRead.seconds;
      const results: BenchResult[] = [
        result({
          workload: 'append',
          metric: `appendMany through the sqlite port (${count.toLocaleString('en')} events)`,
          value: appendRate,
          unit: 'events/s',
          baseline: rawRate,
          goal: '>= 50% of raw inserts',
          met: appendRate >= 0.5 * rawRate,
        }),
        result({
          workload: 'append',
          metric: 'readAll pass through the sqlite port',
          value: readRate,
          unit: 'events/s',
          baseline: count / rawReadResult.seconds,
          goal: '>= 100,000 events/s',
          met: readRate >= 100_000,
        }),
      ];
      return results;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
