import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  incidentsImporter,
  indexSubstations,
  readIncidents,
  serviceOf,
  substationsImporter,
  utcTimestamp,
} from '../../src/import/districtHeating.js';
import { readGeoJsonFeatures } from '../../src/import/geojsonFile.js';
import { runImport } from '../../src/import/pipeline.js';
import { DATA, type ImportFixture, seededSqliteStore, storedEvents } from '../support/importFixtures.js';

const POINTS = `${DATA}/district-heating/thermal_points.geojson`;
const INCIDENTS = `${DATA}/district-heating/incidents/2026-01.csv`;
const rows = parse(readFileSync(INCIDENTS), { columns: true }) as Record<string, string>[];
const names = new Set(
  (JSON.parse(readFileSync(POINTS, 'utf8')) as { features: { properties: { name: string } }[] }).features.map(
    (f) => f.properties.name.trim().toLowerCase(),
  ),
);

const Heating = suite<{ fx: ImportFixture }>(
  'import district-heating (CMTEB substations and January 2026 outages)',
);
Heating.before(async (ctx) => {
  ctx.fx = await seededSqliteStore(['bucharest']);
});
Heating.after(async (ctx) => {
  await ctx.fx.close();
});

async function importBoth(fx: ImportFixture) {
  const features = await readGeoJsonFeatures(POINTS);
  const index = indexSubstations(features);
  const nodes = await runImport({
    store: fx.store,
    writer: fx.writer,
    city: 'bucharest',
    importer: substationsImporter(features, index),
  });
  const incidents = await runImport({
    store: fx.store,
    writer: fx.writer,
    city: 'bucharest',
    importer: incidentsImporter(await readIncidents(INCIDENTS), index),
    batchSize: 1_000,
  });
  return { nodes, incidents };
}

Heating(
  'the 951 substations become district-heating nodes; matched incidents fail and restore them',
  async ({ fx }) => {
    const { nodes, incidents } = await importBoth(fx);
    assert.is(nodes.read, 951);
    assert.is(nodes.imported + nodes.skippedOutsideCity, 951);
    assert.ok(nodes.imported > 940, `nearly all substations lie in Bucharest (${nodes.imported})`);
    assert.equal(nodes.invalid, []);

    const matched = rows.filter((r) => names.has(r.pt_name!.trim().toLowerCase()));
    assert.is(rows.length, 3_050);
    assert.is(incidents.read, 3_050);
    assert.is(incidents.skipped.length, rows.length - matched.length);
    assert.ok(Math.abs(matched.length / rows.length - 0.937) < 0.001, 'SOURCES.md: 93.7 % match by name');
    assert.is(incidents.imported, matched.length);
    assert.equal(incidents.invalid, []);

    const added = await storedEvents(fx.store, 'grid-bucharest.cmteb-pt-', 'GridNodeAdded');
    assert.is(added.length, nodes.imported);
    for (const e of added) {
      assert.is((e.data as { network: string }).network, 'district-heating');
      assert.is((e.data as { nodeKind: string }).nodeKind, 'substation');
    }
    const failed = await storedEvents(fx.store, 'grid-bucharest.cmteb-pt-', 'GridElementFailed');
    const restored = await storedEvents(fx.store, 'grid-bucharest.cmteb-pt-', 'GridElementRestored');
    assert.is(failed.length, matched.length);
    assert.is(restored.length, matched.filter((r) => r.first_absent_ts).length);
  },
);

Heating(
  "occurredAt is the real first sighting / first absence, read as UTC, and each substation's history is in time order",
  async ({ fx }) => {
    const failed = await storedEvents(fx.store, 'grid-bucharest.cmteb-pt-', 'GridElementFailed');
    const byIncident = new Map(rows.map((r) => [r.incident_id!, r]));
    for (const e of failed) {
      const data = e.data as { incidentId: string; service: string; cause: string };
      const row = byIncident.get(data.incidentId)!;
      assert.is(e.metadata.occurredAt, new Date(`${row.first_seen_ts}Z`).toISOString());
      assert.is(data.service, serviceOf(row.service!));
      assert.is(data.cause, row.service);
    }
    const first = rows[0]!;
    assert.is(utcTimestamp(first.first_seen_ts), '2026-01-01T02:00:01.000Z');
    // Each substation's own stream is its history in the order things happened.
    const history = await storedEvents(fx.store, 'grid-bucharest.cmteb-pt-');
    const lastAt = new Map<string, number>();
    for (const e of history) {
      if (e.type === 'GridNodeAdded') continue;
      const at = Date.parse(String(e.metadata.occurredAt));
      assert.ok(at >= (lastAt.get(e.stream) ?? 0), `${e.stream} r${e.revision} is out of time order`);
      lastAt.set(e.stream, at);
    }
    const restoredRows = rows.filter((r) => r.first_absent_ts && names.has(r.pt_name!.trim().toLowerCase()));
    const restored = await storedEvents(fx.store, 'grid-bucharest.cmteb-pt-', 'GridElementRestored');
    const restoredAt = new Map(
      restored.map((e) => [(e.data as { incidentId: string }).incidentId, e.metadata.occurredAt]),
    );
    for (const r of restoredRows)
      assert.is(restoredAt.get(r.incident_id!), new Date(`${r.first_absent_ts}Z`).toISOString());
  },
);

Heating('a re-import of both files appends nothing', async ({ fx }) => {
  const { nodes, incidents } = await importBoth(fx);
  assert.is(nodes.eventsAppended + incidents.eventsAppended, 0);
  assert.is(incidents.alreadyPresent, incidents.read - incidents.skipped.length);
});

Heating('services: INC is heating, ACC hot water; zone-less times are UTC, zoned ones kept', () => {
  assert.is(serviceOf('Deficienta INC'), 'heating');
  assert.is(serviceOf('Deficienta ACC'), 'hot-water');
  assert.is(utcTimestamp('2026-01-04T12:00:01'), '2026-01-04T12:00:01.000Z');
  assert.is(utcTimestamp('2026-01-04T14:00:01+02:00'), '2026-01-04T12:00:01.000Z');
  assert.is(utcTimestamp(''), undefined);
  assert.is(utcTimestamp('yesterday'), undefined);
});

Heating.run();
