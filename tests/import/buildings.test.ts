import { readFileSync } from 'node:fs';
import { area, booleanPointInPolygon, centroid } from '@turf/turf';
import type { Feature, MultiPolygon, Polygon } from 'geojson';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { buildingsImporter, DEFAULT_YEAR_BUILT } from '../../src/import/buildings.js';
import { readGeoJsonFeatures } from '../../src/import/geojsonFile.js';
import { runImport } from '../../src/import/pipeline.js';
import {
  cityData,
  DATA,
  type ImportFixture,
  seededSqliteStore,
  storedEvents,
} from '../support/importFixtures.js';

const FILE = `${DATA}/buildings/bucharest_sector3_unirii_alba-iulia_osm_buildings.geojson`;
const source = JSON.parse(readFileSync(FILE, 'utf8')) as { features: Feature<Polygon>[] };

const Buildings = suite<{ fx: ImportFixture }>('import buildings (OSM footprints into Bucharest)');
Buildings.before(async (ctx) => {
  ctx.fx = await seededSqliteStore(['bucharest']);
});
Buildings.after(async (ctx) => {
  await ctx.fx.close();
});

Buildings(
  'imports every footprint inside Bucharest with floors from building:levels and GFA = area x floors',
  async ({ fx }) => {
    const city = await cityData(fx.store, 'bucharest');
    const boundary = city.boundary as Polygon;
    const expectedInside = source.features.filter((f) => booleanPointInPolygon(centroid(f), boundary)).length;
    assert.is(source.features.length, 861);

    const summary = await runImport({
      store: fx.store,
      writer: fx.writer,
      city: 'bucharest',
      importer: buildingsImporter(await readGeoJsonFeatures(FILE)),
    });
    assert.is(summary.read, 861);
    assert.is(summary.imported, expectedInside);
    assert.is(summary.skippedOutsideCity, 861 - expectedInside);
    assert.equal(summary.invalid, []);

    const stored = await storedEvents(fx.store, 'building-bucharest.osm-', 'BuildingRegistered');
    assert.is(stored.length, expectedInside);
    const byStream = new Map(stored.map((e) => [e.stream, e]));
    const districts = (city.districts as { id: string; boundary: Polygon | MultiPolygon }[]).map((d) => d);
    let withLevels = 0;
    let namedBlocks = 0;
    for (const f of source.features) {
      const p = f.properties as Record<string, string | number>;
      const e = byStream.get(`building-bucharest.osm-${p.osm_type}-${p.osm_id}`);
      assert.ok(e, `way ${p.osm_id} stored`);
      const data = e.data as Record<string, unknown>;
      const levels = p['building:levels'];
      if (levels !== undefined) {
        withLevels++;
        assert.is(data.floors, Number(levels), `floors of ${p.osm_id}`);
      }
      const expectedGfa = Math.round(area(f) * (data.floors as number) * 10) / 10;
      assert.ok(Math.abs((data.grossFloorAreaM2 as number) - expectedGfa) < 0.2, `GFA of ${p.osm_id}`);
      if (p.start_date) {
        assert.is(data.yearBuilt, Number(String(p.start_date).slice(0, 4)), `start_date of ${p.osm_id}`);
        assert.not.match(String(e.metadata.reason), /yearBuilt/);
      } else {
        assert.is(data.yearBuilt, DEFAULT_YEAR_BUILT);
        assert.match(String(e.metadata.reason), /estimated: .*yearBuilt/);
      }
      const inside = districts.find((d) => booleanPointInPolygon(centroid(f), d.boundary));
      if (inside) assert.is(data.district, inside.id);
      if (p.building === 'apartments') assert.is(data.use, 'residential');
      if (p.building === 'yes' && !p.amenity && /^Bl\. /.test(String(p.name ?? ''))) {
        assert.is(data.use, 'residential', `${p.name} is an apartment block`);
        namedBlocks++;
      }
      if (p.name) assert.is(data.name, p.name);
      if (p['addr:street'] && p['addr:housenumber']) {
        assert.ok(String(data.address).startsWith(`${p['addr:street']} ${p['addr:housenumber']}`));
      }
      assert.is(e.metadata.source, 'import:osm');
    }
    assert.is(withLevels, 176);
    assert.ok(namedBlocks > 10, `blocks named "Bl. ..." (${namedBlocks})`);
    const sector3 = stored.filter((e) => (e.data as { district: string }).district === 'sector-3').length;
    assert.ok(sector3 > stored.length / 2, `most of the area is in Sectorul 3 (${sector3})`);
  },
);

Buildings('a re-import appends nothing and reports every feature as already present', async ({ fx }) => {
  const summary = await runImport({
    store: fx.store,
    writer: fx.writer,
    city: 'bucharest',
    importer: buildingsImporter(await readGeoJsonFeatures(FILE)),
  });
  assert.is(summary.eventsAppended, 0);
  assert.is(summary.imported, 0);
  assert.is(summary.alreadyPresent, 861 - summary.skippedOutsideCity);
});

Buildings(
  'a corrupted feature is reported by index and reason, and the others are imported',
  async ({ fx }) => {
    const features = (await readGeoJsonFeatures(FILE)).slice(0, 40) as Feature<Polygon>[];
    const copy = structuredClone(features).map((f) => {
      (f.properties as Record<string, unknown>).osm_id =
        `9${(f.properties as Record<string, unknown>).osm_id}`;
      return f;
    });
    // #3: a bow-tie ring (self-intersecting); #7: no geometry at all; #11: not a building.
    const ring = copy[3]!.geometry.coordinates[0]!;
    copy[3]!.geometry.coordinates[0] = [ring[0]!, ring[2]!, ring[1]!, ring[3]!, ring[0]!];
    (copy[7] as unknown as { geometry: null }).geometry = null;
    (copy[11]!.properties as Record<string, unknown>).building = 'no';
    const summary = await runImport({
      store: fx.store,
      writer: fx.writer,
      city: 'bucharest',
      importer: buildingsImporter(copy),
    });
    assert.equal(
      summary.invalid.map((i) => i.index),
      [3, 7],
    );
    assert.match(summary.invalid[0]!.reason, /self-intersecting/);
    assert.match(summary.invalid[1]!.reason, /no geometry/);
    assert.equal(summary.skipped, [{ index: 11, reason: 'not a building (no building tag)' }]);
    assert.is(summary.imported, 37);
    assert.is(summary.eventsAppended, 37);
  },
);

Buildings.run();
