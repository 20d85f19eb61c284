import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createCityTwin } from '../../src/twin/cityTwin.js';
import { eventFactory, smallCityEvents } from '../support/twinFixtures.js';

/*
 * Testville, worked out by hand (factors: electricity 0.3, gas 0.2, district heating 0.25 kg/kWh;
 * PEF gas 1.1, electricity 2.5; heating share 0.8):
 * b1 residential south, 1000 m2, C, 110 kWh/m2, gas: gas 0.8*110,000/1.1 = 80,000; el 0.2*110,000/2.5 = 8,800
 *    CO2e 80,000*0.2 + 8,800*0.3 = 18,640 kg
 * b2 residential north, 2000 m2, E, 250, district heating, metered 12 x 10,000 = 120,000 DH;
 *    el estimated 0.2*500,000/2.5 = 40,000; CO2e 120,000*0.25 + 40,000*0.3 = 42,000 kg
 * b3 office south, 550 m2, 1975, no certificate: default 280 kWh/m2, gas boiler; retrofit -25%:
 *    gas 0.8*154,000*0.75/1.1 = 84,000; el 0.2*154,000*0.75/2.5 = 9,240; savings 124,320 - 93,240 = 31,080
 *    CO2e 84,000*0.2 + 9,240*0.3 = 19,572 kg; PV 10 kWp * 1,200 = 12,000 kWh
 * City: gas 164 MWh, el 58.04, DH 120, total 342.04 MWh; CO2e 80.212 t; A-C share 1000/3550 = 0.2817
 */
const test = suite('climate KPIs');

const build = () => {
  const twin = createCityTwin('testville');
  for (const e of smallCityEvents()) twin.apply(e);
  return twin;
};

test('computes final energy per carrier and CO2e city-wide as worked out by hand', () => {
  const { city } = build().kpis();
  assert.equal(city.finalEnergyMWhPerYear['natural-gas'], 164);
  assert.equal(city.finalEnergyMWhPerYear.electricity, 58.04);
  assert.equal(city.finalEnergyMWhPerYear['district-heating'], 120);
  assert.equal(city.finalEnergyMWhPerYear.total, 342.04);
  assert.equal(city.co2eTonnesPerYear, 80.212);
});

test('splits the KPIs per district', () => {
  const { districts } = build().kpis();
  assert.equal(districts.south?.co2eTonnesPerYear, 38.212);
  assert.equal(districts.north?.co2eTonnesPerYear, 42);
  assert.equal(districts.south?.buildings.count, 2);
  assert.equal(districts.north?.buildings.floorAreaM2, 2000);
  assert.equal(districts.south?.evChargers.per1000Residents, 0.1667);
  assert.equal(districts.north?.evChargers.count, 0);
});

test('reports renewables, energy classes and retrofits', () => {
  const { city } = build().kpis();
  assert.equal(city.renewables.pvKWp, 10);
  assert.equal(city.renewables.pvGenerationMWhPerYear, 12);
  assert.equal(city.floorAreaShareClassesAtoC, 0.2817);
  assert.equal(city.retrofits.count, 1);
  assert.equal(city.retrofits.shareOfStock, 0.3333);
  assert.equal(city.retrofits.expectedSavingsMWhPerYear, 31.08);
});

test('reports chargers per 1,000 residents and 400 m coverage of residential buildings', () => {
  const { city } = build().kpis();
  assert.equal(city.evChargers, { count: 1, powerKw: 50, per1000Residents: 0.1 });
  assert.equal(city.residentialShareWithin400mOfCharger, 0.5);
  assert.equal(city.residentialShareWithin400mOfTransitStop, 0.5);
  assert.equal(city.vehicles, 1);
});

test('reports overloaded elements, open failures and the peak element of the grid', () => {
  const { city, districts } = build().kpis();
  assert.equal(city.grid, {
    elements: 3,
    overloadedElements: 1,
    failedElements: 1,
    openFailures: 1,
    peak: { elementId: 'n1', peakUtilisation: 1.2 },
  });
  assert.equal(districts.north?.grid.peak, { elementId: 'n2', peakUtilisation: 0.2 });
});

test('updates coverage incrementally when a charger is decommissioned and another is added', () => {
  const twin = build();
  const e = eventFactory(1000n);
  twin.apply(e('mobility-testville.c1', 'MobilityAssetDecommissioned', {}));
  assert.equal(twin.kpis().city.residentialShareWithin400mOfCharger, 0);
  twin.apply(
    e('mobility-testville.c2', 'MobilityAssetRegistered', {
      kind: 'ev-charger',
      location: { type: 'Point', coordinates: [26.005, 44.0155] },
      operator: 'Op',
      powerKw: 22,
    }),
  );
  const { city } = twin.kpis();
  assert.equal(city.residentialShareWithin400mOfCharger, 0.5);
  assert.equal(twin.coverageOfBuilding('b2'), { chargers: 1, transitStops: 1 });
  assert.equal(city.evChargers.powerKw, 22);
});

test('recomputes CO2e of every building when the emission factors change', () => {
  const twin = build();
  const e = eventFactory(1000n);
  const changes = twin.apply(
    e('city-testville', 'EmissionFactorsSet', { factors: { electricity: 0.1 }, source: 'greener grid' }),
  );
  assert.equal(changes.length, 3);
  // electricity 58,040 kWh now at 0.1 instead of 0.3: -11,608 kg
  assert.equal(twin.kpis().city.co2eTonnesPerYear, 68.604);
});

test('a demolished building leaves every KPI it contributed to', () => {
  const twin = build();
  const e = eventFactory(1000n);
  twin.apply(e('building-testville.b2', 'BuildingDemolished', {}));
  const { city, districts } = twin.kpis();
  assert.equal(city.co2eTonnesPerYear, 38.212);
  assert.equal(districts.north?.buildings.count, 0);
  assert.equal(city.residentialShareWithin400mOfTransitStop, 0);
});

test('emission factors with a future validFrom leave the figures alone until the twin reaches that date', () => {
  const twin = build();
  const e = eventFactory(1000n);
  const set = twin.apply(
    e(
      'city-testville',
      'EmissionFactorsSet',
      { factors: { electricity: 0.1 }, validFrom: '2030-01-01', source: 'greener grid 2030' },
      '2026-03-01T00:00:00.000Z',
    ),
  );
  assert.equal(set, [], 'nothing changes in 2026');
  assert.equal(twin.kpis().city.co2eTonnesPerYear, 80.212);
  assert.is(twin.info.emissionFactors.electricity, 0.3);
  // Any event of the city that happens on or after 1 January 2030 moves the twin's time past validFrom.
  const moved = twin.apply(
    e(
      'mobility-testville.v1',
      'VehiclePositionReported',
      { location: { type: 'Point', coordinates: [26.01, 44.011] } },
      '2029-12-31T23:59:59.999Z',
    ),
  );
  assert.ok(
    moved.every((c) => c.layer === 'mobility'),
    'still 2029',
  );
  assert.equal(twin.kpis().city.co2eTonnesPerYear, 80.212);
  const later = twin.apply(
    e(
      'mobility-testville.v1',
      'VehiclePositionReported',
      { location: { type: 'Point', coordinates: [26.011, 44.011] } },
      '2030-01-01T00:00:00.000Z',
    ),
  );
  // electricity 58,040 kWh now at 0.1 instead of 0.3: -11,608 kg
  assert.equal(twin.kpis().city.co2eTonnesPerYear, 68.604);
  assert.is(twin.info.emissionFactors.electricity, 0.1);
  assert.is(twin.info.emissionFactorsValidFrom, '2030-01-01');
  assert.equal(
    later.filter((c) => c.layer === 'buildings').length,
    3,
    'every building reported to live clients',
  );
});

test('a set without validFrom, or one whose date has passed, applies at once; later dates win per carrier', () => {
  const twin = build();
  const e = eventFactory(1000n);
  const at = '2026-03-01T00:00:00.000Z';
  twin.apply(
    e(
      'city-testville',
      'EmissionFactorsSet',
      { factors: { electricity: 0.2 }, validFrom: '2025-06-01', source: 'a' },
      at,
    ),
  );
  twin.apply(
    e(
      'city-testville',
      'EmissionFactorsSet',
      { factors: { electricity: 0.25 }, validFrom: '2024-01-01', source: 'b' },
      at,
    ),
  );
  // In validFrom order the 2025 set comes last, whatever the order they were recorded in.
  assert.is(twin.info.emissionFactors.electricity, 0.2);
  assert.is(twin.info.emissionFactorsSource, 'a');
  twin.apply(e('city-testville', 'EmissionFactorsSet', { factors: { 'natural-gas': 0.1 }, source: 'c' }, at));
  assert.is(twin.info.emissionFactors['natural-gas'], 0.1);
  assert.is(twin.info.emissionFactors.electricity, 0.2);
});

test('a charger out of service does not count for 400 m coverage, and counts again once available', () => {
  const twin = build();
  const e = eventFactory(1000n);
  twin.apply(e('mobility-testville.c1', 'AssetStatusChanged', { status: 'out-of-service' }));
  let { city } = twin.kpis();
  assert.equal(city.residentialShareWithin400mOfCharger, 0);
  assert.equal(city.evChargers.count, 1, 'still a registered charger');
  assert.is(twin.coverageOfBuilding('b1')?.chargers, 0);
  twin.apply(e('mobility-testville.c1', 'AssetStatusChanged', { status: 'maintenance' }));
  assert.equal(twin.kpis().city.residentialShareWithin400mOfCharger, 0);
  twin.apply(e('mobility-testville.c1', 'AssetStatusChanged', { status: 'available' }));
  ({ city } = twin.kpis());
  assert.equal(city.residentialShareWithin400mOfCharger, 0.5);
  assert.is(twin.coverageOfBuilding('b1')?.chargers, 1);
});

test('a bulk replay counts only chargers in service, like an event-by-event one', () => {
  const e = eventFactory(1000n);
  const extra = [e('mobility-testville.c1', 'AssetStatusChanged', { status: 'offline' })];
  const bulk = createCityTwin('testville');
  bulk.beginBulk();
  for (const ev of [...smallCityEvents(), ...extra]) bulk.applySilently(ev);
  bulk.endBulk();
  const one = build();
  for (const ev of extra) one.apply(ev);
  assert.equal(bulk.kpis(), one.kpis());
  assert.equal(bulk.kpis().city.residentialShareWithin400mOfCharger, 0);
});

test.run();
