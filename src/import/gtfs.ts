import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { ValidationError } from '../core/errors.js';
import type { CityContext } from './cityContext.js';
import { safeIdPart } from './geojsonFile.js';
import type { Importer, Mapped } from './pipeline.js';

/**
 * A GTFS feed's stops -> transit-stop assets (MobilityAssetRegistered). Only stops.txt is required; when
 * trips.txt, stop_times.txt and routes.txt are present, each stop gets the short names of the routes that
 * call at it. Feeds without calendar, times or shapes import the same (they describe the network layout).
 */

type Row = Record<string, string>;

export interface GtfsFeed {
  name: string;
  stops: Row[];
  /** Route short names calling at each stop_id (empty when trips / stop_times are missing). */
  routesByStop: Map<string, string[]>;
  agency?: string;
  /** Optional files that were not in the feed. */
  missing: string[];
}

async function readCsv(path: string): Promise<Row[]> {
  return parse(await readFile(path), {
    columns: true,
    bom: true,
    skip_empty_lines: true,
    trim: true,
    relax_column_count: true,
  }) as Row[];
}

/** Reads the feed directory. Throws a ValidationError when stops.txt is missing. */
export async function readGtfsFeed(dir: string): Promise<GtfsFeed> {
  const file = (name: string) => join(dir, name);
  if (!existsSync(file('stops.txt'))) {
    throw new ValidationError(`No stops.txt in GTFS directory ${dir}`, [
      { field: 'dir', value: dir, message: 'must contain stops.txt' },
    ]);
  }
  const optional = ['agency.txt', 'routes.txt', 'trips.txt', 'stop_times.txt', 'calendar.txt'];
  const missing = optional.filter((name) => !existsSync(file(name)));
  const load = async (name: string) => (missing.includes(name) ? [] : readCsv(file(name)));
  const [stops, agency, routes, trips, stopTimes] = await Promise.all([
    readCsv(file('stops.txt')),
    load('agency.txt'),
    load('routes.txt'),
    load('trips.txt'),
    load('stop_times.txt'),
  ]);
  const routeName = new Map(
    routes.map((r) => [r.route_id!, r.route_short_name || r.route_long_name || r.route_id!]),
  );
  const routeOfTrip = new Map(trips.map((t) => [t.trip_id!, t.route_id!]));
  const sets = new Map<string, Set<string>>();
  for (const st of stopTimes) {
    const routeId = routeOfTrip.get(st.trip_id!);
    if (!routeId || !st.stop_id) continue;
    const name = routeName.get(routeId) ?? routeId;
    let set = sets.get(st.stop_id);
    if (!set) {
      set = new Set();
      sets.set(st.stop_id, set);
    }
    set.add(name);
  }
  const collator = new Intl.Collator('ro', { numeric: true });
  const routesByStop = new Map([...sets].map(([stop, set]) => [stop, [...set].sort(collator.compare)]));
  const agencyName = agency[0]?.agency_name;
  return {
    name: basename(dir.replace(/[/\\]+$/, '')),
    stops,
    routesByStop,
    ...(agencyName ? { agency: agencyName } : {}),
    missing,
  };
}

/** A feed's short stable name (from its agency, else its directory): part of ids, so two feeds never clash. */
export function feedSlug(feed: Pick<GtfsFeed, 'agency' | 'name'>): string {
  return (
    safeIdPart(feed.agency ?? feed.name)
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'feed'
  );
}

/** Maps one stops.txt row. */
export function mapStop(feed: GtfsFeed, row: Row, city: CityContext): Mapped {
  const stopId = row.stop_id;
  if (!stopId) return { invalid: 'stop_id is empty' };
  const locationType = row.location_type || '0';
  // 0 (or empty) is a stop or platform, 1 a station; entrances, generic nodes and boarding areas are not.
  if (locationType !== '0' && locationType !== '1') {
    return { skip: `not a stop or station (location_type ${locationType})` };
  }
  const lat = Number(row.stop_lat);
  const lon = Number(row.stop_lon);
  if (row.stop_lat === '' || row.stop_lon === '' || !Number.isFinite(lat) || !Number.isFinite(lon)) {
    return { invalid: `stop ${stopId} has no valid stop_lat/stop_lon (${row.stop_lat}, ${row.stop_lon})` };
  }
  const location = { type: 'Point' as const, coordinates: [lon, lat] as [number, number] };
  const routes = (feed.routesByStop.get(stopId) ?? []).map((r) => r.slice(0, 100)).slice(0, 500);
  const district = city.inside(location.coordinates) ? city.districtAt(location.coordinates) : undefined;
  return {
    featureId: stopId,
    where: location,
    items: [
      {
        type: 'MobilityAssetRegistered',
        entityId: `gtfs-${feedSlug(feed)}-${safeIdPart(stopId)}`,
        data: {
          kind: 'transit-stop',
          location,
          operator: (feed.agency ?? feed.name).slice(0, 200),
          ...(row.stop_name ? { name: row.stop_name.slice(0, 500) } : {}),
          ...(district ? { district } : {}),
          ...(routes.length > 0 ? { routes } : {}),
        },
        reason: `GTFS ${feed.name} stop ${stopId}`,
      },
    ],
  };
}

/** The GTFS stops importer. */
export function gtfsImporter(feed: GtfsFeed): Importer<Row> {
  return {
    label: 'gtfs stops',
    source: `gtfs:${feedSlug(feed)}`,
    features: feed.stops,
    map: (row, _index, city) => mapStop(feed, row, city),
  };
}
