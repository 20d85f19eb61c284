import { mulberry32 } from '../../seeds/prng.js';
import type { RecordedEvent } from '../../src/eventStore/port.js';

/** Builds recorded events with increasing positions, as the store would deliver them. */
export function eventFactory(start = 1n) {
  let position = start;
  const revisions = new Map<string, number>();
  let n = 0;
  return function recorded(
    stream: string,
    type: string,
    data: unknown,
    occurredAt = '2025-01-01T00:00:00.000Z',
  ): RecordedEvent {
    const revision = (revisions.get(stream) ?? -1) + 1;
    revisions.set(stream, revision);
    n++;
    return {
      id: `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`,
      type,
      stream,
      revision,
      position: position++,
      recordedAt: occurredAt,
      data,
      metadata: { actor: 'test', source: 'test', occurredAt, correlationId: 'c', causationId: null },
    };
  };
}

/** A closed counter-clockwise square footprint of `sizeDeg` around [lon, lat]. */
export function square(lon: number, lat: number, sizeDeg = 0.0002) {
  const h = sizeDeg / 2;
  return {
    type: 'Polygon' as const,
    coordinates: [
      [
        [lon - h, lat - h],
        [lon + h, lat - h],
        [lon + h, lat + h],
        [lon - h, lat + h],
        [lon - h, lat - h],
      ],
    ],
  };
}

export const box = (minLon: number, minLat: number, maxLon: number, maxLat: number) => ({
  type: 'Polygon' as const,
  coordinates: [
    [
      [minLon, minLat],
      [maxLon, minLat],
      [maxLon, maxLat],
      [minLon, maxLat],
      [minLon, minLat],
    ],
  ],
});

/**
 * A small, hand-computable city "testville" (two districts) with its events in order. KPIs worked out by
 * hand in tests/twin/kpis.test.ts.
 */
export function smallCityEvents(): RecordedEvent[] {
  const e = eventFactory();
  const events: RecordedEvent[] = [
    e('city-testville', 'CityRegistered', {
      name: 'Testville',
      country: 'RO',
      timezone: 'Europe/Bucharest',
      boundary: box(26.0, 44.0, 26.02, 44.02),
      population: 10_000,
      districts: [
        { id: 'north', name: 'North', boundary: box(26.0, 44.01, 26.02, 44.02), population: 4_000 },
        { id: 'south', name: 'South', boundary: box(26.0, 44.0, 26.02, 44.01), population: 6_000 },
      ],
    }),
    e('city-testville', 'EmissionFactorsSet', {
      factors: { electricity: 0.3, 'natural-gas': 0.2, 'district-heating': 0.25 },
      source: 'test factors',
    }),
    e('building-testville.b1', 'BuildingRegistered', {
      footprint: square(26.005, 44.005),
      use: 'residential',
      yearBuilt: 2005,
      floors: 4,
      grossFloorAreaM2: 1000,
      dwellings: 12,
      district: 'south',
    }),
    e('building-testville.b1', 'BuildingEnergyCertified', {
      energyClass: 'C',
      primaryEnergyKwhPerM2Year: 110,
      heatingSystem: 'gas-boiler',
    }),
    e('building-testville.b2', 'BuildingRegistered', {
      footprint: square(26.005, 44.015),
      use: 'residential',
      yearBuilt: 1972,
      floors: 10,
      grossFloorAreaM2: 2000,
      dwellings: 40,
      district: 'north',
    }),
    e('building-testville.b2', 'BuildingEnergyCertified', {
      energyClass: 'E',
      primaryEnergyKwhPerM2Year: 250,
      heatingSystem: 'district-heating',
    }),
  ];
  for (let m = 1; m <= 12; m++) {
    const start = `2024-${String(m).padStart(2, '0')}-01T00:00:00Z`;
    const end = m === 12 ? '2025-01-01T00:00:00Z' : `2024-${String(m + 1).padStart(2, '0')}-01T00:00:00Z`;
    events.push(
      e('building-testville.b2', 'MeterReadingRecorded', {
        carrier: 'district-heating',
        kwh: 10_000,
        periodStart: start,
        periodEnd: end,
      }),
    );
  }
  events.push(
    e('building-testville.b3', 'BuildingRegistered', {
      footprint: square(26.015, 44.005),
      use: 'office',
      yearBuilt: 1975,
      floors: 2,
      grossFloorAreaM2: 550,
      district: 'south',
    }),
    e('building-testville.b3', 'BuildingRetrofitted', {
      measures: ['wall-insulation', 'windows'],
      expectedSavingsPercent: 25,
    }),
    e('building-testville.b3', 'RooftopPvInstalled', { kWp: 10 }),
    // ~111 m north of b1: covers b1 only.
    e('mobility-testville.c1', 'MobilityAssetRegistered', {
      kind: 'ev-charger',
      location: { type: 'Point', coordinates: [26.005, 44.006] },
      operator: 'Op',
      powerKw: 50,
      capacity: 2,
    }),
    // ~111 m east of b2: covers b2 only.
    e('mobility-testville.s1', 'MobilityAssetRegistered', {
      kind: 'transit-stop',
      location: { type: 'Point', coordinates: [26.0064, 44.015] },
      operator: 'STB',
    }),
    e('mobility-testville.v1', 'MobilityAssetRegistered', {
      kind: 'bus',
      location: { type: 'Point', coordinates: [26.01, 44.012] },
      operator: 'STB',
      capacity: 80,
    }),
    e('grid-testville.n1', 'GridNodeAdded', {
      network: 'electricity',
      nodeKind: 'substation',
      location: { type: 'Point', coordinates: [26.002, 44.002] },
      capacityKw: 1000,
    }),
    e('grid-testville.n2', 'GridNodeAdded', {
      network: 'electricity',
      nodeKind: 'transformer',
      location: { type: 'Point', coordinates: [26.012, 44.016] },
      capacityKw: 500,
    }),
    e('grid-testville.l1', 'GridLinkAdded', {
      network: 'electricity',
      fromNode: 'n1',
      toNode: 'n2',
      path: {
        type: 'LineString',
        coordinates: [
          [26.002, 44.002],
          [26.012, 44.016],
        ],
      },
      capacityKw: 800,
    }),
    e('grid-testville.n1', 'GridLoadReported', { loadKw: 1200 }),
    e('grid-testville.n2', 'GridLoadReported', { loadKw: 100 }),
    e('grid-testville.n2', 'GridElementFailed', { incidentId: 'i1', cause: 'cable fault' }),
  );
  return events;
}

/** Seeded PRNG (mulberry32): deterministic random data for tests. */
export const prng = mulberry32;

/**
 * A random but seeded event history of a city in [26.0, 44.0]-[26.1, 44.1]: buildings, chargers, stops,
 * vehicles that move, grid nodes with loads and failures, plus demolitions and decommissions.
 */
export function randomCityEvents(seed: number, count: number, city = 'randville'): RecordedEvent[] {
  const rnd = prng(seed);
  const e = eventFactory();
  const at = (i: number) => new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString();
  const events: RecordedEvent[] = [
    e(
      `city-${city}`,
      'CityRegistered',
      {
        name: 'Randville',
        country: 'RO',
        timezone: 'Europe/Bucharest',
        boundary: box(26.0, 44.0, 26.1, 44.1),
        population: 50_000,
        districts: [
          { id: 'west', name: 'West', boundary: box(26.0, 44.0, 26.05, 44.1), population: 20_000 },
          { id: 'east', name: 'East', boundary: box(26.05, 44.0, 26.1, 44.1), population: 30_000 },
        ],
      },
      at(0),
    ),
  ];
  const buildings: string[] = [];
  const assets: string[] = [];
  const vehicles: string[] = [];
  const nodes: string[] = [];
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  for (let i = 1; events.length < count; i++) {
    const r = rnd();
    const lon = 26.0 + rnd() * 0.1;
    const lat = 44.0 + rnd() * 0.1;
    if (r < 0.3 || buildings.length === 0) {
      const id = `b${i}`;
      buildings.push(id);
      events.push(
        e(
          `building-${city}.${id}`,
          'BuildingRegistered',
          {
            footprint: square(lon, lat, 0.0001 + rnd() * 0.0004),
            use: rnd() < 0.7 ? 'residential' : 'office',
            yearBuilt: 1900 + Math.floor(rnd() * 125),
            floors: 1 + Math.floor(rnd() * 12),
            grossFloorAreaM2: 100 + Math.floor(rnd() * 5000),
            district: lon < 26.05 ? 'west' : 'east',
          },
          at(i),
        ),
      );
    } else if (r < 0.4) {
      events.push(
        e(
          `building-${city}.${pick(buildings)}`,
          'BuildingEnergyCertified',
          {
            energyClass: pick(['A', 'B', 'C', 'D', 'E', 'F']),
            primaryEnergyKwhPerM2Year: 50 + rnd() * 300,
            heatingSystem: pick(['district-heating', 'gas-boiler', 'heat-pump']),
          },
          at(i),
        ),
      );
    } else if (r < 0.5) {
      const month = Math.floor(rnd() * 24);
      events.push(
        e(
          `building-${city}.${pick(buildings)}`,
          'MeterReadingRecorded',
          {
            carrier: pick(['electricity', 'natural-gas', 'district-heating']),
            kwh: Math.round(rnd() * 10_000),
            periodStart: new Date(Date.UTC(2023, month, 1)).toISOString(),
            periodEnd: new Date(Date.UTC(2023, month + 1, 1)).toISOString(),
          },
          at(i),
        ),
      );
    } else if (r < 0.53) {
      events.push(
        e(
          `building-${city}.${pick(buildings)}`,
          'BuildingRetrofitted',
          { measures: ['windows'], expectedSavingsPercent: Math.round(rnd() * 40) },
          at(i),
        ),
      );
    } else if (r < 0.55) {
      events.push(
        e(`building-${city}.${pick(buildings)}`, 'RooftopPvInstalled', { kWp: 1 + rnd() * 20 }, at(i)),
      );
    } else if (r < 0.57 && buildings.length > 5) {
      const id = buildings.splice(Math.floor(rnd() * buildings.length), 1)[0]!;
      events.push(e(`building-${city}.${id}`, 'BuildingDemolished', {}, at(i)));
    } else if (r < 0.65) {
      const id = `m${i}`;
      const kind = pick(['ev-charger', 'transit-stop', 'bike-station', 'bus', 'scooter']);
      (kind === 'bus' || kind === 'scooter' ? vehicles : assets).push(id);
      events.push(
        e(
          `mobility-${city}.${id}`,
          'MobilityAssetRegistered',
          {
            kind,
            location: { type: 'Point', coordinates: [lon, lat] },
            operator: pick(['STB', 'Lime', 'Renovatio']),
            powerKw: kind === 'ev-charger' ? 22 + Math.floor(rnd() * 130) : undefined,
            capacity: 10,
          },
          at(i),
        ),
      );
    } else if (r < 0.8 && vehicles.length > 0) {
      events.push(
        e(
          `mobility-${city}.${pick(vehicles)}`,
          'VehiclePositionReported',
          { location: { type: 'Point', coordinates: [lon, lat] }, speedKmh: Math.round(rnd() * 50) },
          at(i),
        ),
      );
    } else if (r < 0.84 && assets.length > 0) {
      events.push(
        e(
          `mobility-${city}.${pick(assets)}`,
          'AssetStatusChanged',
          { status: pick(['available', 'occupied', 'offline']) },
          at(i),
        ),
      );
    } else if (r < 0.85 && assets.length > 3) {
      const id = assets.splice(Math.floor(rnd() * assets.length), 1)[0]!;
      events.push(e(`mobility-${city}.${id}`, 'MobilityAssetDecommissioned', {}, at(i)));
    } else if (r < 0.88 || nodes.length < 2) {
      const id = `n${i}`;
      nodes.push(id);
      events.push(
        e(
          `grid-${city}.${id}`,
          'GridNodeAdded',
          {
            network: 'electricity',
            nodeKind: pick(['substation', 'transformer']),
            location: { type: 'Point', coordinates: [lon, lat] },
            capacityKw: 100 + Math.floor(rnd() * 1000),
          },
          at(i),
        ),
      );
    } else if (r < 0.9) {
      const from = pick(nodes);
      const to = pick(nodes);
      if (from === to) continue;
      events.push(
        e(
          `grid-${city}.l${i}`,
          'GridLinkAdded',
          {
            network: 'electricity',
            fromNode: from,
            toNode: to,
            path: {
              type: 'LineString',
              coordinates: [
                [lon, lat],
                [lon + 0.003, lat + 0.002],
              ],
            },
            capacityKw: 500,
          },
          at(i),
        ),
      );
    } else if (r < 0.97) {
      events.push(
        e(`grid-${city}.${pick(nodes)}`, 'GridLoadReported', { loadKw: Math.round(rnd() * 1500) }, at(i)),
      );
    } else if (r < 0.985) {
      events.push(
        e(
          `grid-${city}.${pick(nodes)}`,
          'GridElementFailed',
          { incidentId: `i${Math.floor(rnd() * 5)}` },
          at(i),
        ),
      );
    } else if (r < 0.995) {
      events.push(
        e(
          `grid-${city}.${pick(nodes)}`,
          'GridElementRestored',
          { incidentId: `i${Math.floor(rnd() * 5)}` },
          at(i),
        ),
      );
    } else {
      events.push(
        e(
          `city-${city}`,
          'EmissionFactorsSet',
          { factors: { electricity: 0.1 + rnd() * 0.3 }, source: 'test' },
          at(i),
        ),
      );
    }
  }
  return events;
}

/** Appends recorded-style events to a real store, stream by stream in their order (positions are the store's). */
export async function appendAll(
  store: {
    append(
      stream: string,
      events: Array<{ id: string; type: string; data: unknown; metadata: Record<string, unknown> }>,
    ): Promise<unknown>;
  },
  events: RecordedEvent[],
): Promise<void> {
  for (const e of events) {
    await store.append(e.stream, [
      { id: e.id, type: e.type, data: e.data, metadata: e.metadata as Record<string, unknown> },
    ]);
  }
}
