import { join } from 'node:path';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalJson } from '../../src/audit/canonicalJson.js';
import { verifyChains } from '../../src/audit/verify.js';
import { fixedClock } from '../../src/core/clock.js';
import { ValidationError } from '../../src/core/errors.js';
import { createSqliteEventStore } from '../../src/eventStore/sqlite.js';
import { parseBatchBody } from '../../src/write/batchBody.js';
import { type ParsedItem, parseItems } from '../../src/write/parseItems.js';
import { createParseWorkers } from '../../src/write/parseWorkers.js';
import { createWriter } from '../../src/write/writer.js';
import { bucharestRegistered, caught, sector3Footprints, tempDir, testId } from './fixtures.js';

const CITY = 'bucharest';
const NOW = new Date('2026-06-01T12:00:00Z');
const ctx = { actor: 'key:ops', source: 'test-suite', correlationId: 'corr-parse' };

/** Real Sector 3 footprints, and a certificate per building: several event types per batch. */
function items(count: number) {
  return sector3Footprints()
    .slice(0, count)
    .flatMap((b) => [
      {
        id: testId(`reg-${b.osmId}`),
        type: 'BuildingRegistered',
        entityId: `osm-way-${b.osmId}`,
        data: {
          footprint: b.footprint,
          use: 'residential',
          yearBuilt: 1979,
          floors: 9,
          grossFloorAreaM2: 4200,
          district: 'sector-3',
        },
      },
      {
        id: testId(`cert-${b.osmId}`),
        type: 'BuildingEnergyCertified',
        entityId: `osm-way-${b.osmId}`,
        data: { energyClass: 'D', primaryEnergyKwhPerM2Year: 231.5, heatingSystem: 'district-heating' },
        occurredAt: '2026-03-01T00:00:00Z',
      },
    ]);
}

const workers = suite('parse workers');
const pool = createParseWorkers({ workers: 2, minItems: 1, minChunk: 25 });
workers.after(() => pool.close());

workers('parse a batch in chunks over two threads exactly as it is parsed in process', async () => {
  const batch = items(60);
  const inProcess: ParsedItem[] = parseItems(CITY, batch, NOW);
  const threaded = await pool.parse(CITY, batch, NOW);
  assert.is(threaded.length, 120);
  assert.equal(threaded, inProcess);
  // the worker rewound clockwise rings exactly as the in-process schema does
  assert.equal(
    (threaded[0]!.event.data as { footprint: unknown }).footprint,
    (inProcess[0]!.event.data as { footprint: unknown }).footprint,
  );
});

workers('report the first bad item of the batch, whichever chunk answers first', async () => {
  const batch = items(60) as Array<{ data: Record<string, unknown> }>;
  batch[101]!.data.energyClass = 'Z';
  batch[7]!.data.floors = -3;
  let inProcess: unknown;
  try {
    parseItems(CITY, batch, NOW);
  } catch (err) {
    inProcess = err;
  }
  const threaded = await caught(pool.parse(CITY, batch, NOW));
  assert.instance(threaded, ValidationError);
  assert.is(threaded.issues[0]!.index, 7);
  assert.is(threaded.issues[0]!.field, 'data.floors');
  assert.is(threaded.message, (inProcess as ValidationError).message);
  assert.equal(threaded.issues, (inProcess as ValidationError).issues);
});

workers(
  'a batch parsed by the workers is stored as its canonical text and its hash chain verifies',
  async () => {
    const tmp = tempDir('urban-twin-parse-workers-');
    const file = join(tmp.dir, 'events.sqlite');
    const store = createSqliteEventStore(file);
    try {
      const writer = createWriter({ store, clock: fixedClock(NOW), parser: pool });
      await writer.appendBatch(CITY, [{ ...bucharestRegistered(), id: testId('city') }], ctx);
      const outcome = await writer.appendBatch(CITY, items(40), ctx);
      assert.is(outcome.appended, 80);
      const report = await verifyChains(store, {});
      assert.is(report.broken.length, 0);
      assert.ok(report.eventsChecked >= 81);
      // each row's data is exactly the canonical JSON of the parsed data
      const db = new Database(file, { readonly: true });
      const rows = db.prepare("SELECT data FROM events WHERE type = 'BuildingRegistered'").all() as Array<{
        data: string;
      }>;
      db.close();
      assert.is(rows.length, 40);
      for (const row of rows) assert.is(row.data, canonicalJson(JSON.parse(row.data)));
    } finally {
      await store.close();
      tmp.cleanup();
    }
  },
);

workers('parse an ingest body split over two threads exactly as it is parsed in process', async () => {
  const text = JSON.stringify({ events: items(60), source: 'osm-import', reason: 'survey' });
  const threaded = await pool.parseBody(CITY, text, NOW, 5_000);
  assert.equal(threaded, parseBatchBody(CITY, text, NOW, 5_000));
  assert.is(threaded.items.length, 120);
  assert.equal([threaded.size, threaded.source, threaded.reason], [120, 'osm-import', 'survey']);
});

workers('answer a malformed or oversize body with the errors the in-process parse gives', async () => {
  const malformed = await caught(pool.parseBody(CITY, `{"events": [${'{"type": "X"},'.repeat(40)}`, NOW, 50));
  assert.equal([malformed.status, malformed.code], [400, 'malformed-json']);
  const oversize = await caught(pool.parseBody(CITY, JSON.stringify({ events: items(30) }), NOW, 50));
  assert.equal([oversize.status, oversize.issues[0]!.field, oversize.issues[0]!.value], [413, 'events', 60]);
});

workers.run();
