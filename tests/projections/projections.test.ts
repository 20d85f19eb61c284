import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { buildingEnergy, evolveBuilding, mutateBuilding } from '../../projections/buildings.js';
import { emptyCity, evolveCity } from '../../projections/city.js';
import { DEFAULT_EMISSION_FACTORS } from '../../projections/energy.js';
import { evolveGrid, gridFeature, mutateGrid } from '../../projections/grid.js';
import { evolveMobility, mobilityFeature, mutateMobility } from '../../projections/mobility.js';
import type { BuildingEvent } from '../../src/domain/building/events.js';
import type { GridEvent } from '../../src/domain/grid/events.js';
import type { MobilityEvent } from '../../src/domain/mobility/events.js';
import { randomCityEvents, square } from '../support/twinFixtures.js';

const env = (occurredAt = '2025-03-01T10:00:00Z', entityId = 'x1') => ({ entityId, occurredAt });

const registered: BuildingEvent = {
  type: 'BuildingRegistered',
  data: {
    footprint: square(26.1, 44.4),
    use: 'residential',
    yearBuilt: 1975,
    floors: 10,
    grossFloorAreaM2: 4000,
    district: 'sector-2',
  },
};

const buildings = suite('buildings projection');

buildings('a registration creates a building with no retrofits, no PV and no readings', () => {
  const s = evolveBuilding(undefined, registered, env())!;
  assert.is(s.id, 'x1');
  assert.is(s.retrofitCount, 0);
  assert.is(s.pvKWp, 0);
  assert.is(s.meterLatestMonth, null);
});

buildings('an event for an unregistered building is ignored', () => {
  assert.is(evolveBuilding(undefined, { type: 'BuildingDemolished', data: {} }, env()), undefined);
});

buildings('a building without a certificate is estimated from its age and district heating', () => {
  const s = evolveBuilding(undefined, registered, env())!;
  const e = buildingEnergy(s, DEFAULT_EMISSION_FACTORS);
  assert.is(e.estimateSource, 'default');
  // 280 kWh/m2 * 4000 m2 * 0.8 / 1.3
  assert.ok(Math.abs(e.finalEnergy['district-heating'] - 689_230.769) < 0.01);
  assert.is(e.basis, 'estimated');
});

buildings('a certificate sets class, primary energy and heating, and resets the retrofit factor', () => {
  let s = evolveBuilding(undefined, registered, env())!;
  s = evolveBuilding(
    s,
    { type: 'BuildingRetrofitted', data: { measures: ['windows'], expectedSavingsPercent: 20 } },
    env(),
  )!;
  assert.is(s.retrofitFactor, 0.8);
  s = evolveBuilding(
    s,
    {
      type: 'BuildingEnergyCertified',
      data: { energyClass: 'C', primaryEnergyKwhPerM2Year: 150, heatingSystem: 'gas-boiler' },
    },
    env(),
  )!;
  assert.is(s.energyClass, 'C');
  assert.is(s.heatingSystem, 'gas-boiler');
  assert.is(s.retrofitFactor, 1);
});

buildings('retrofits accumulate measures, count, cost and expected savings', () => {
  let s = evolveBuilding(undefined, registered, env())!;
  const retrofit = (measures: BuildingEvent & { type: 'BuildingRetrofitted' }) =>
    evolveBuilding(s, measures, env())!;
  s = retrofit({
    type: 'BuildingRetrofitted',
    data: {
      measures: ['windows', 'wall-insulation'],
      expectedSavingsPercent: 50,
      costEur: 100,
      newEnergyClass: 'C',
    },
  });
  s = retrofit({
    type: 'BuildingRetrofitted',
    data: { measures: ['windows', 'roof-insulation'], expectedSavingsPercent: 10 },
  });
  assert.is(s.retrofitCount, 2);
  assert.equal(s.retrofitMeasures, ['roof-insulation', 'wall-insulation', 'windows']);
  assert.is(s.retrofitCostEur, 100);
  assert.is(s.energyClass, 'C');
  assert.ok(Math.abs(s.retrofitFactor - 0.45) < 1e-12);
  assert.ok(s.retrofitSavingsKwhPerYear > 0);
});

buildings('meter readings are annualised over the 12 months up to the latest reading', () => {
  let s = evolveBuilding(undefined, registered, env())!;
  const read = (month: number, kwh: number, carrier: 'electricity' | 'district-heating' = 'electricity') =>
    evolveBuilding(
      s,
      {
        type: 'MeterReadingRecorded',
        data: {
          carrier,
          kwh,
          periodStart: new Date(Date.UTC(2023, month - 1, 1)).toISOString(),
          periodEnd: new Date(Date.UTC(2023, month, 1)).toISOString(),
        },
      },
      env(),
    )!;
  s = read(1, 100);
  s = read(2, 200);
  // two months with readings: (100 + 200) * 12 / 2
  assert.is(buildingEnergy(s, DEFAULT_EMISSION_FACTORS).metered.electricity, 1800);
  // 14 months later the January and February readings are out of the window
  s = read(16, 50);
  assert.is(buildingEnergy(s, DEFAULT_EMISSION_FACTORS).metered.electricity, 600);
  assert.is(buildingEnergy(s, DEFAULT_EMISSION_FACTORS).basis, 'mixed');
});

buildings('rooftop PV adds kWp and the default yield of 1,200 kWh per kWp', () => {
  let s = evolveBuilding(undefined, registered, env())!;
  s = evolveBuilding(s, { type: 'RooftopPvInstalled', data: { kWp: 5 } }, env())!;
  s = evolveBuilding(
    s,
    { type: 'RooftopPvInstalled', data: { kWp: 2, expectedYieldKwhPerYear: 1000 } },
    env(),
  )!;
  assert.is(s.pvKWp, 7);
  assert.is(s.pvYieldKwhPerYear, 7000);
});

buildings('a correction replaces only the corrected attributes', () => {
  let s = evolveBuilding(undefined, registered, env())!;
  s = evolveBuilding(s, { type: 'BuildingAttributesCorrected', data: { floors: 11 } }, env())!;
  assert.is(s.floors, 11);
  assert.is(s.grossFloorAreaM2, 4000);
});

buildings('a demolished building leaves the layer', () => {
  const s = evolveBuilding(undefined, registered, env())!;
  assert.is(evolveBuilding(s, { type: 'BuildingDemolished', data: {} }, env()), undefined);
});

buildings('evolve never mutates the state it is given', () => {
  const s = evolveBuilding(undefined, registered, env())!;
  const frozen = JSON.stringify(s);
  evolveBuilding(s, { type: 'RooftopPvInstalled', data: { kWp: 5 } }, env());
  assert.is(JSON.stringify(s), frozen);
});

buildings.run();

const mobility = suite('mobility projection');
const bus: MobilityEvent = {
  type: 'MobilityAssetRegistered',
  data: {
    kind: 'bus',
    location: { type: 'Point', coordinates: [26.1, 44.4] },
    operator: 'STB',
    capacity: 80,
  },
};

mobility('a registered vehicle is in service, a registered charger available', () => {
  assert.is(evolveMobility(undefined, bus, env())!.status, 'in-service');
  const charger = evolveMobility(
    undefined,
    { type: 'MobilityAssetRegistered', data: { ...bus.data, kind: 'ev-charger' } as never },
    env(),
  )!;
  assert.is(charger.status, 'available');
});

mobility('a position report moves the vehicle and records speed, heading and time', () => {
  let s = evolveMobility(undefined, bus, env())!;
  s = evolveMobility(
    s,
    {
      type: 'VehiclePositionReported',
      data: { location: { type: 'Point', coordinates: [26.2, 44.5] }, speedKmh: 30, headingDeg: 90 },
    },
    env('2025-03-01T10:01:00Z'),
  )!;
  const f = mobilityFeature(s);
  assert.equal(f.geometry, { type: 'Point', coordinates: [26.2, 44.5] });
  assert.is(f.properties.speedKmh, 30);
  assert.is(f.properties.lastPositionAt, '2025-03-01T10:01:00Z');
});

mobility('an older position report than the one shown does not move the vehicle back', () => {
  let s = evolveMobility(undefined, bus, env())!;
  const report = (lon: number, at: string) =>
    evolveMobility(
      s,
      { type: 'VehiclePositionReported', data: { location: { type: 'Point', coordinates: [lon, 44.4] } } },
      env(at),
    )!;
  s = report(26.3, '2025-03-01T10:05:00Z');
  const later = report(26.2, '2025-03-01T10:04:00Z');
  assert.is(later, s);
});

mobility('status, occupancy and charging sessions update the asset', () => {
  let s = evolveMobility(undefined, bus, env())!;
  s = evolveMobility(
    s,
    { type: 'AssetStatusChanged', data: { status: 'maintenance', detail: 'brakes' } },
    env(),
  )!;
  s = evolveMobility(s, { type: 'OccupancyReported', data: { occupied: 40 } }, env())!;
  s = evolveMobility(
    s,
    {
      type: 'ChargingSessionRecorded',
      data: { energyKwh: 12.5, startedAt: '2025-03-01T09:00:00Z', endedAt: '2025-03-01T09:30:00Z' },
    },
    env(),
  )!;
  const p = mobilityFeature(s).properties;
  assert.is(p.status, 'maintenance');
  assert.is(p.occupancy, 0.5);
  assert.is(p.chargedKwh, 12.5);
});

mobility('a decommissioned asset leaves the layer', () => {
  const s = evolveMobility(undefined, bus, env())!;
  assert.is(evolveMobility(s, { type: 'MobilityAssetDecommissioned', data: {} }, env()), undefined);
});

mobility.run();

const grid = suite('grid projection');
const node: GridEvent = {
  type: 'GridNodeAdded',
  data: {
    network: 'district-heating',
    nodeKind: 'substation',
    location: { type: 'Point', coordinates: [26.1, 44.4] },
    capacityKw: 1000,
  },
};

grid('a load report sets last load, utilisation and the peak', () => {
  let s = evolveGrid(undefined, node, env())!;
  s = evolveGrid(s, { type: 'GridLoadReported', data: { loadKw: 1100 } }, env())!;
  s = evolveGrid(s, { type: 'GridLoadReported', data: { loadKw: 300 } }, env())!;
  const p = gridFeature(s).properties;
  assert.is(p.lastLoadKw, 300);
  assert.is(p.utilisation, 0.3);
  assert.is(p.peakUtilisation, 1.1);
  assert.is(p.overloaded, false);
});

grid('a failure opens once per incident and a restore of that incident closes it', () => {
  let s = evolveGrid(undefined, node, env())!;
  s = evolveGrid(s, { type: 'GridElementFailed', data: { incidentId: 'a', service: 'heating' } }, env())!;
  s = evolveGrid(s, { type: 'GridElementFailed', data: { incidentId: 'a' } }, env())!;
  s = evolveGrid(s, { type: 'GridElementFailed', data: { incidentId: 'b', service: 'hot-water' } }, env())!;
  assert.is(gridFeature(s).properties.status, 'failed');
  assert.is(s.openFailures.length, 2);
  s = evolveGrid(s, { type: 'GridElementRestored', data: { incidentId: 'a' } }, env())!;
  assert.is(s.openFailures.length, 1);
  s = evolveGrid(s, { type: 'GridElementRestored', data: { service: 'hot-water' } }, env())!;
  assert.is(gridFeature(s).properties.status, 'ok');
  assert.is(s.failuresTotal, 2);
});

grid('a restore without incident or service closes every open failure', () => {
  let s = evolveGrid(undefined, node, env())!;
  s = evolveGrid(s, { type: 'GridElementFailed', data: { incidentId: 'a' } }, env())!;
  s = evolveGrid(s, { type: 'GridElementFailed', data: {} }, env())!;
  s = evolveGrid(s, { type: 'GridElementRestored', data: {} }, env())!;
  assert.is(s.openFailures.length, 0);
});

grid('a link is a LineString element of kind link', () => {
  const s = evolveGrid(
    undefined,
    {
      type: 'GridLinkAdded',
      data: {
        network: 'electricity',
        fromNode: 'a',
        toNode: 'b',
        path: {
          type: 'LineString',
          coordinates: [
            [26.1, 44.4],
            [26.2, 44.4],
          ],
        },
        capacityKw: 10,
      },
    },
    env(),
  )!;
  const f = gridFeature(s);
  assert.is(f.geometry.type, 'LineString');
  assert.is(f.properties.kind, 'link');
  assert.is(f.properties.fromNode, 'a');
});

grid('a removed element leaves the layer', () => {
  const s = evolveGrid(undefined, node, env())!;
  assert.is(evolveGrid(s, { type: 'GridElementRemoved', data: {} }, env()), undefined);
});

grid.run();

const city = suite('city projection');

city('emission factors overlay the defaults carrier by carrier', () => {
  const s = evolveCity(
    emptyCity(),
    { type: 'EmissionFactorsSet', data: { factors: { electricity: 0.1 }, source: 'ANRE 2030' } },
    '2025-01-01T00:00:00Z',
  );
  assert.is(s.emissionFactors.electricity, 0.1);
  assert.is(s.emissionFactors['natural-gas'], DEFAULT_EMISSION_FACTORS['natural-gas']);
  assert.is(s.emissionFactorsSource, 'ANRE 2030');
});

city.run();

const inPlace = suite('in-place projections');

inPlace('mutate gives the state evolve gives, for every event that has an in-place form', () => {
  const states = new Map<string, unknown>();
  let applied = 0;
  for (const event of randomCityEvents(11, 3000)) {
    const [kind, rest] = event.stream.split('-') as [string, string];
    const entityId = rest.slice(rest.indexOf('.') + 1);
    const e = { entityId, occurredAt: String(event.metadata.occurredAt) };
    const key = `${kind}:${entityId}`;
    const prev = states.get(key);
    const pairs = {
      building: [evolveBuilding, mutateBuilding],
      mobility: [evolveMobility, mutateMobility],
      grid: [evolveGrid, mutateGrid],
    } as const;
    const pair = pairs[kind as keyof typeof pairs];
    if (!pair) continue;
    const [evolve, mutate] = pair as unknown as [
      (s: unknown, ev: unknown, env: unknown) => unknown,
      (s: unknown, ev: unknown, env: unknown) => boolean | undefined,
    ];
    const next = evolve(prev, event, e);
    if (prev !== undefined) {
      const copy = structuredClone(prev);
      const result = mutate(copy, event, e);
      if (result !== undefined) {
        applied++;
        assert.equal(copy, result ? next : prev, `${event.type} of ${key}`);
      }
    }
    states.set(key, next);
  }
  assert.ok(applied > 500, `${applied} events applied in place`);
});

inPlace.run();
