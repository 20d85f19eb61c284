import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chargersImporter, sitePowerKw } from '../../src/import/chargers.js';
import { readGeoJsonFeatures } from '../../src/import/geojsonFile.js';
import { runImport } from '../../src/import/pipeline.js';
import { DATA, type ImportFixture, seededSqliteStore, storedEvents } from '../support/importFixtures.js';

const FILE = `${DATA}/ev-chargers/ocm_romania_sample100.geojson`;
type Site = { properties: Record<string, unknown>; geometry: { coordinates: number[] } };
const sites = (JSON.parse(readFileSync(FILE, 'utf8')) as { features: Site[] }).features;

const Chargers = suite<{ fx: ImportFixture }>('import chargers (Open Charge Map sites)');
Chargers.before(async (ctx) => {
  ctx.fx = await seededSqliteStore(['bucharest', 'cluj-napoca', 'suceava']);
});
Chargers.after(async (ctx) => {
  await ctx.fx.close();
});

const importInto = (fx: ImportFixture, city: string) =>
  readGeoJsonFeatures(FILE).then((features) =>
    runImport({ store: fx.store, writer: fx.writer, city, importer: chargersImporter(features) }),
  );

Chargers(
  'of the 100 Romanian sites, 26 land in Bucharest, 3 in Cluj-Napoca and none in Suceava',
  async ({ fx }) => {
    assert.is(sites.length, 100);
    const bucharest = await importInto(fx, 'bucharest');
    assert.is(bucharest.read, 100);
    assert.is(bucharest.imported, 26);
    assert.is(bucharest.skippedOutsideCity, 74);
    assert.equal(bucharest.invalid, []);
    const cluj = await importInto(fx, 'cluj-napoca');
    assert.is(cluj.imported, 3);
    assert.is(cluj.skippedOutsideCity, 97);
    const suceava = await importInto(fx, 'suceava');
    assert.is(suceava.imported, 0);
    assert.is(suceava.skippedOutsideCity, 100);
  },
);

Chargers(
  'each charger carries operator, points as capacity, total power and its OCM status',
  async ({ fx }) => {
    const registered = await storedEvents(fx.store, 'mobility-bucharest.ocm-', 'MobilityAssetRegistered');
    assert.is(registered.length, 26);
    const statuses = await storedEvents(fx.store, 'mobility-bucharest.ocm-', 'AssetStatusChanged');
    const bySite = new Map(sites.map((s) => [`mobility-bucharest.ocm-${s.properties.ocm_id}`, s]));
    for (const e of registered) {
      const site = bySite.get(e.stream)!;
      const p = site.properties;
      const data = e.data as Record<string, unknown>;
      assert.is(data.kind, 'ev-charger');
      assert.is(data.operator, p.operator ?? 'unknown operator');
      assert.is(data.name, p.title);
      assert.is(data.capacity, p.number_of_points);
      assert.is(data.powerKw, sitePowerKw(p));
      assert.equal((data.location as { coordinates: number[] }).coordinates, site.geometry.coordinates);
      assert.is(e.metadata.occurredAt, new Date(String(p.date_created)).toISOString());
      const status = statuses.find((s) => s.stream === e.stream);
      if (p.status === 'Operational') assert.is((status!.data as { status: string }).status, 'available');
    }
    // Power is the sum over the connections: a site with 2 x 22 kW Type 2 sockets has 44 kW.
    const morarilor = registered.find((e) => e.stream.endsWith('ocm-107018'));
    assert.is((morarilor!.data as { powerKw: number }).powerKw, 44);
  },
);

Chargers('a re-import appends nothing', async ({ fx }) => {
  const again = await importInto(fx, 'bucharest');
  assert.is(again.eventsAppended, 0);
  assert.is(again.alreadyPresent, 26);
});

Chargers('a site without coordinates is reported by index; the rest import', async ({ fx }) => {
  const features = (await readGeoJsonFeatures(FILE)).map((f) => structuredClone(f) as Site & { id: string });
  for (const f of features) f.properties.ocm_id = `x${f.properties.ocm_id}`;
  (features[4] as { geometry: unknown }).geometry = { type: 'Point', coordinates: [26.1, 'north'] };
  const summary = await runImport({
    store: fx.store,
    writer: fx.writer,
    city: 'bucharest',
    importer: chargersImporter(features),
  });
  const firstInside = summary.invalid.find((i) => i.index === 4);
  assert.ok(firstInside, 'feature #4 is reported');
  assert.ok(summary.imported >= 25, `${summary.imported}`);
});

Chargers('a missing or malformed file is refused with a message naming it', async () => {
  for (const bad of [`${DATA}/nope.geojson`, `${DATA}/SOURCES.md`]) {
    try {
      await readGeoJsonFeatures(bad);
      assert.unreachable(`${bad} must be refused`);
    } catch (err) {
      assert.match((err as Error).message, bad.split('/').at(-1)!);
    }
  }
});

Chargers.run();
