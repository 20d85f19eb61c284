/**
 * A seeded, realistic event history of one big city for the twin benchmarks: registrations (buildings,
 * chargers, stops, vehicles, grid nodes), energy certificates, meter readings, vehicle positions, asset
 * statuses and grid loads, in the proportions a live city produces them (positions and readings dominate).
 */
import { createRng } from '../../seeds/prng.js';
import { URBAN_TWIN_NAMESPACE, uuidFromName } from '../../src/core/ids.js';
import type { NewEvent, StreamWrite } from '../../src/eventStore/port.js';

export const BENCH_CITY = 'benchville';
/** Bucharest's extent: the buildings spread over ~24 x 24 km. */
export const EXTENT = { minLon: 25.95, minLat: 44.33, maxLon: 26.25, maxLat: 44.55 };

const footprint = (lon: number, lat: number, w: number, h: number) => ({
  type: 'Polygon' as const,
  coordinates: [
    [
      [lon, lat],
      [lon + w, lat],
      [lon + w, lat + h],
      [lon, lat + h],
      [lon, lat],
    ],
  ],
});

/** One building registration's data, seeded. */
export function buildingData(rng: ReturnType<typeof createRng>) {
  const lon = rng.float(EXTENT.minLon, EXTENT.maxLon);
  const lat = rng.float(EXTENT.minLat, EXTENT.maxLat);
  return {
    footprint: footprint(lon, lat, rng.float(0.0001, 0.0006), rng.float(0.0001, 0.0004)),
    use: rng.pick([
      'residential',
      'residential',
      'residential',
      'office',
      'education',
      'commercial',
    ] as const),
    yearBuilt: rng.int(1900, 2024),
    floors: rng.int(1, 14),
    grossFloorAreaM2: rng.int(80, 20_000),
    district: `sector-${rng.int(1, 6)}`,
  };
}

/**
 * `total` events in batches of 1,000 (each event its own stream write), in the order a live city appends them.
 * Mix: ~6% building registrations, 3% certificates, 30% meter readings, 1% asset registrations,
 * 40% vehicle positions, 10% asset statuses, 0.3% grid nodes, 9.7% grid loads.
 */
export function* cityHistory(total: number, seed = 'bench:twin'): Generator<StreamWrite[]> {
  const rng = createRng(seed);
  let n = 0;
  const meta = (occurredAt: string) => ({
    actor: 'bench',
    source: 'bench',
    occurredAt,
    correlationId: 'bench',
    causationId: null,
  });
  const event = (type: string, data: unknown, occurredAt: string): NewEvent => ({
    id: uuidFromName(URBAN_TWIN_NAMESPACE, `bench-twin:${seed}:${n++}`),
    type,
    data,
    metadata: meta(occurredAt),
  });
  const start = Date.UTC(2024, 0, 1);
  const buildings: string[] = [];
  const vehicles: string[] = [];
  const assets: string[] = [];
  const nodes: string[] = [];
  let batch: StreamWrite[] = [];
  const push = (stream: string, e: NewEvent) => {
    batch.push({ stream, events: [e] });
  };
  push(
    `city-${BENCH_CITY}`,
    event(
      'CityRegistered',
      {
        name: 'Benchville',
        country: 'RO',
        timezone: 'Europe/Bucharest',
        boundary: footprint(
          EXTENT.minLon,
          EXTENT.minLat,
          EXTENT.maxLon - EXTENT.minLon,
          EXTENT.maxLat - EXTENT.minLat,
        ),
        population: 1_700_000,
        districts: [1, 2, 3, 4, 5, 6].map((i) => ({
          id: `sector-${i}`,
          name: `Sector ${i}`,
          population: 280_000,
        })),
      },
      new Date(start).toISOString(),
    ),
  );
  for (let i = 1; i < total; i++) {
    const at = new Date(start + i * 1_000).toISOString();
    const r = rng.float(0, 1);
    if (r < 0.06 || buildings.length < 10) {
      const id = `b-${i}`;
      buildings.push(id);
      push(`building-${BENCH_CITY}.${id}`, event('BuildingRegistered', buildingData(rng), at));
    } else if (r < 0.09) {
      push(
        `building-${BENCH_CITY}.${rng.pick(buildings)}`,
        event(
          'BuildingEnergyCertified',
          {
            energyClass: rng.pick(['B', 'C', 'D', 'E', 'F'] as const),
            primaryEnergyKwhPerM2Year: rng.int(60, 400),
            heatingSystem: rng.pick(['district-heating', 'gas-boiler', 'heat-pump'] as const),
          },
          at,
        ),
      );
    } else if (r < 0.39) {
      const m = rng.int(0, 23);
      push(
        `building-${BENCH_CITY}.${rng.pick(buildings)}`,
        event(
          'MeterReadingRecorded',
          {
            carrier: rng.pick(['electricity', 'natural-gas', 'district-heating'] as const),
            kwh: rng.int(100, 50_000),
            periodStart: new Date(Date.UTC(2023, m, 1)).toISOString(),
            periodEnd: new Date(Date.UTC(2023, m + 1, 1)).toISOString(),
          },
          at,
        ),
      );
    } else if (r < 0.4 || vehicles.length < 10 || assets.length < 10) {
      const id = `m-${i}`;
      const kind = rng.pick([
        'bus',
        'tram',
        'scooter',
        'bike',
        'ev-charger',
        'transit-stop',
        'bike-station',
      ] as const);
      (['bus', 'tram', 'scooter', 'bike'].includes(kind) ? vehicles : assets).push(id);
      push(
        `mobility-${BENCH_CITY}.${id}`,
        event(
          'MobilityAssetRegistered',
          {
            kind,
            location: {
              type: 'Point',
              coordinates: [rng.float(EXTENT.minLon, EXTENT.maxLon), rng.float(EXTENT.minLat, EXTENT.maxLat)],
            },
            operator: rng.pick(['STB', 'Lime', 'Renovatio', 'Enel X']),
            ...(kind === 'ev-charger' ? { powerKw: rng.pick([22, 50, 150]) } : {}),
          },
          at,
        ),
      );
    } else if (r < 0.8) {
      push(
        `mobility-${BENCH_CITY}.${rng.pick(vehicles)}`,
        event(
          'VehiclePositionReported',
          {
            location: {
              type: 'Point',
              coordinates: [rng.float(EXTENT.minLon, EXTENT.maxLon), rng.float(EXTENT.minLat, EXTENT.maxLat)],
            },
            speedKmh: rng.int(0, 60),
            headingDeg: rng.int(0, 359),
          },
          at,
        ),
      );
    } else if (r < 0.9) {
      push(
        `mobility-${BENCH_CITY}.${rng.pick(assets)}`,
        event('AssetStatusChanged', { status: rng.pick(['available', 'occupied', 'offline'] as const) }, at),
      );
    } else if (r < 0.903 || nodes.length < 5) {
      const id = `g-${i}`;
      nodes.push(id);
      push(
        `grid-${BENCH_CITY}.${id}`,
        event(
          'GridNodeAdded',
          {
            network: rng.pick(['electricity', 'district-heating'] as const),
            nodeKind: rng.pick(['substation', 'transformer'] as const),
            location: {
              type: 'Point',
              coordinates: [rng.float(EXTENT.minLon, EXTENT.maxLon), rng.float(EXTENT.minLat, EXTENT.maxLat)],
            },
            capacityKw: rng.int(500, 40_000),
          },
          at,
        ),
      );
    } else {
      push(
        `grid-${BENCH_CITY}.${rng.pick(nodes)}`,
        event('GridLoadReported', { loadKw: rng.int(0, 45_000) }, at),
      );
    }
    if (batch.length === 1_000) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
