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
