import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { booleanPointInPolygon } from '@turf/turf';
import { parse } from 'csv-parse/sync';
import type { Polygon } from 'geojson';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { gtfsImporter, readGtfsFeed } from '../../src/import/gtfs.js';
import { runImport } from '../../src/import/pipeline.js';
import {
  cityData,
  DATA,
  type ImportFixture,
  seededSqliteStore,
  storedEvents,
} from '../support/importFixtures.js';

const FEED = `${DATA}/gtfs-cluj`;
const rows = (file: string) =>
  parse(readFileSync(join(FEED, file)), { columns: true, bom: true, trim: true }) as Record<string, string>[];

const Gtfs = suite<{ fx: ImportFixture }>('import gtfs (CTP Cluj stops into Cluj-Napoca)');
Gtfs.before(async (ctx) => {
  ctx.fx = await seededSqliteStore(['cluj-napoca']);
});
Gtfs.after(async (ctx) => {
  await ctx.fx.close();
});

Gtfs(
  'imports the 914 stops: those inside Cluj-Napoca as transit stops with the routes calling at them',
  async ({ fx }) => {
    const stops = rows('stops.txt');
    assert.is(stops.length, 914);
    const boundary = (await cityData(fx.store, 'cluj-napoca')).boundary as Polygon;
    const inside = stops.filter((s) =>
      booleanPointInPolygon([Number(s.stop_lon), Number(s.stop_lat)], boundary),
    );

    const feed = await readGtfsFeed(FEED);
    assert.equal(feed.missing, ['calendar.txt']);
    const summary = await runImport({
      store: fx.store,
      writer: fx.writer,
      city: 'cluj-napoca',
      importer: gtfsImporter(feed),
    });
    assert.is(summary.read, 914);
    assert.is(summary.imported, inside.length);
    assert.is(summary.skippedOutsideCity, 914 - inside.length);
    assert.equal(summary.invalid, []);

    // Routes per stop, derived here independently: stop_times -> trips -> routes.route_short_name (one route
    // of the feed has none; its long name "D51" stands in).
    const routeName = new Map(
      rows('routes.txt').map((r) => [r.route_id!, r.route_short_name || r.route_long_name!]),
    );
    const routeOfTrip = new Map(rows('trips.txt').map((t) => [t.trip_id!, t.route_id!]));
    const expected = new Map<string, Set<string>>();
    for (const st of rows('stop_times.txt')) {
      const set = expected.get(st.stop_id!) ?? new Set<string>();
      set.add(routeName.get(routeOfTrip.get(st.trip_id!)!)!);
      expected.set(st.stop_id!, set);
    }
    const stored = await storedEvents(
      fx.store,
      'mobility-cluj-napoca.gtfs-ctp-cluj-',
      'MobilityAssetRegistered',
    );
    assert.is(stored.length, inside.length);
    const byStop = new Map(
      stored.map((e) => [e.stream.replace('mobility-cluj-napoca.gtfs-ctp-cluj-', ''), e.data]),
    );
    let withRoutes = 0;
    for (const s of inside) {
      const data = byStop.get(s.stop_id!) as Record<string, unknown>;
      assert.ok(data, `stop ${s.stop_id}`);
      assert.is(data.kind, 'transit-stop');
      assert.is(data.name, s.stop_name);
      assert.is(data.operator, 'CTP Cluj');
      assert.equal((data.location as { coordinates: number[] }).coordinates, [
        Number(s.stop_lon),
        Number(s.stop_lat),
      ]);
      assert.equal(
        ((data.routes as string[] | undefined) ?? []).toSorted(),
        [...(expected.get(s.stop_id!) ?? [])].sort(),
      );
      if (data.routes) withRoutes++;
      assert.type(data.district, 'string');
    }
    assert.ok(withRoutes > inside.length * 0.8, `most stops have routes (${withRoutes})`);
  },
);

Gtfs('a re-import appends nothing', async ({ fx }) => {
  const summary = await runImport({
    store: fx.store,
    writer: fx.writer,
    city: 'cluj-napoca',
    importer: gtfsImporter(await readGtfsFeed(FEED)),
  });
  assert.is(summary.eventsAppended, 0);
  assert.is(summary.alreadyPresent + summary.skippedOutsideCity, 914);
});

Gtfs(
  'a feed with only stops.txt imports its stops without routes; one without stops.txt is refused',
  async ({ fx }) => {
    const root = mkdtempSync(join(tmpdir(), 'gtfs-'));
    const dir = join(root, 'minimal-feed');
    mkdirSync(dir);
    try {
      copyFileSync(join(FEED, 'stops.txt'), join(dir, 'stops.txt'));
      const feed = await readGtfsFeed(dir);
      assert.equal(feed.missing, ['agency.txt', 'routes.txt', 'trips.txt', 'stop_times.txt', 'calendar.txt']);
      assert.is(feed.routesByStop.size, 0);
      const [first] = feed.stops;
      const importer = gtfsImporter({ ...feed, stops: [first!] });
      const summary = await runImport({ store: fx.store, writer: fx.writer, city: 'cluj-napoca', importer });
      assert.is(summary.imported, 1);
      const stored = await storedEvents(fx.store, `mobility-cluj-napoca.gtfs-minimal-feed-${first!.stop_id}`);
      const last = stored.at(-1)!;
      assert.is((last.data as { routes?: unknown }).routes, undefined);
      rmSync(join(dir, 'stops.txt'));
      try {
        await readGtfsFeed(dir);
        assert.unreachable('a feed without stops.txt must be refused');
      } catch (err) {
        assert.match((err as Error).message, /No stops.txt/);
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
);

Gtfs.run();
