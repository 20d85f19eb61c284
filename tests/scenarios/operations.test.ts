import { area } from '@turf/turf';
import type { Polygon } from 'geojson';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ValidationError } from '../../src/core/errors.js';
import { compareKpis, diffLayers } from '../../src/scenarios/compare.js';
import {
  expandOperation,
  matchesBuildingFilter,
  parseOperation,
  worstCoveredSites,
} from '../../src/scenarios/operations.js';
import type { TwinFeature } from '../../src/twin/changes.js';
import { square } from '../support/twinFixtures.js';

const building = (id: string, lon: number, lat: number, props: Record<string, unknown>): TwinFeature => ({
  type: 'Feature',
  id,
  geometry: square(lon, lat, 0.0004),
  properties: {
    use: 'residential',
    district: 'north',
    yearBuilt: 1975,
    grossFloorAreaM2: 1000,
    pvKWp: 0,
    ...props,
  },
});
const charger = (id: string, lon: number, lat: number): TwinFeature => ({
  type: 'Feature',
  id,
  geometry: { type: 'Point', coordinates: [lon, lat] },
  properties: { kind: 'ev-charger' },
});

const ops = suite('what-if operations');

ops('a building filter needs every given criterion; year bounds are inclusive', () => {
  const b = building('b', 26, 44, { energyClass: 'E', yearBuilt: 1989 });
  const f = (input: unknown) => {
    const op = parseOperation({
      type: 'retrofit',
      filter: input,
      measures: ['windows'],
      expectedSavingsPercent: 10,
    });
    return op.type === 'retrofit' ? matchesBuildingFilter(b, op.filter) : false;
  };
  assert.ok(f({ yearBuilt: { to: 1989 } }));
  assert.not.ok(f({ yearBuilt: { to: 1988 } }));
  assert.ok(f({ yearBuilt: { from: 1989, to: 1989 }, district: ['south', 'north'], use: 'residential' }));
  assert.not.ok(f({ district: 'south' }));
  assert.ok(f({ energyClass: ['E', 'F'] }));
  assert.not.ok(f({ energyClass: 'C' }));
  const uncertified = building('u', 26, 44, { energyClass: null });
  const op = parseOperation({
    type: 'retrofit',
    filter: { energyClass: 'G' },
    measures: ['windows'],
    expectedSavingsPercent: 1,
  });
  assert.not.ok(
    op.type === 'retrofit' && matchesBuildingFilter(uncertified, op.filter),
    'no class, no match',
  );
});

ops('retrofit expands to one event per matching building, in id order, with cost from the floor area', () => {
  const buildings = [
    building('b-2', 26, 44, { grossFloorAreaM2: 2500 }),
    building('b-1', 26.001, 44, {}),
    building('b-3', 26.002, 44, { yearBuilt: 2005 }),
  ];
  const drafts = expandOperation(
    parseOperation({
      type: 'retrofit',
      filter: { yearBuilt: { to: 1989 } },
      measures: ['wall-insulation'],
      expectedSavingsPercent: 30,
      newEnergyClass: 'C',
      costEurPerM2: 100,
    }),
    { buildings, mobility: [], idPrefix: 'x' },
  );
  assert.equal(
    drafts.map((d) => [d.type, d.entityId, d.data.costEur, d.data.newEnergyClass]),
    [
      ['BuildingRetrofitted', 'b-1', 100_000, 'C'],
      ['BuildingRetrofitted', 'b-2', 250_000, 'C'],
    ],
  );
});

ops('add-pv sizes each system from its roof and skips roofs that have PV', () => {
  const withPv = building('b-pv', 26, 44, { pvKWp: 5 });
  const bare = building('b-bare', 26.01, 44, {});
  const drafts = expandOperation(parseOperation({ type: 'add-pv', filter: {} }), {
    buildings: [withPv, bare],
    mobility: [],
    idPrefix: 'x',
  });
  assert.is(drafts.length, 1);
  assert.is(drafts[0]!.entityId, 'b-bare');
  const expected = Math.round(area(bare.geometry as Polygon) * 0.4 * 0.2 * 10) / 10;
  assert.is(drafts[0]!.data.kWp, expected);
  const fixed = expandOperation(parseOperation({ type: 'add-pv', filter: {}, kWp: 7, skipExisting: false }), {
    buildings: [withPv, bare],
    mobility: [],
    idPrefix: 'x',
  });
  assert.equal(
    fixed.map((d) => d.data.kWp),
    [7, 7],
  );
});

ops('new chargers go where most homes lack one within 400 m, deterministically', () => {
  // A covered cluster next to an existing charger, a big uncovered cluster 5 km east, a small one 5 km north.
  const homes: TwinFeature[] = [];
  for (let i = 0; i < 5; i++) homes.push(building(`near-${i}`, 26 + i * 0.0005, 44, {}));
  for (let i = 0; i < 8; i++)
    homes.push(building(`east-${i}`, 26.065 + i * 0.0004, 44, { district: 'east' }));
  for (let i = 0; i < 3; i++)
    homes.push(building(`north-${i}`, 26, 44.045 + i * 0.0004, { district: 'north' }));
  const ctx = { buildings: homes, mobility: [charger('c-1', 26.001, 44)] };
  const sites = worstCoveredSites(ctx, 5, 400);
  assert.is(sites.length, 2, 'stops once every home is covered');
  assert.is(sites[0]!.district, 'east');
  assert.ok(Math.abs(sites[0]!.coordinates[0] - 26.0664) < 0.002);
  assert.is(sites[1]!.district, 'north');
  assert.equal(worstCoveredSites(ctx, 5, 400), sites, 'same input, same sites');
  const drafts = expandOperation(parseOperation({ type: 'add-chargers', count: 1, powerKw: 150 }), {
    ...ctx,
    idPrefix: 'scn-1',
  });
  assert.equal(drafts[0]!.entityId, 'scn-1-ch-1');
  assert.is(drafts[0]!.data.kind, 'ev-charger');
  assert.is(drafts[0]!.data.powerKw, 150);
});

ops('emission factors, network additions and removals expand to the matching events', () => {
  const none = { buildings: [], mobility: [], idPrefix: 'x' };
  const factors = expandOperation(
    parseOperation({
      type: 'set-emission-factors',
      factors: { electricity: 0.1 },
      validFrom: '2030-01-01',
      source: 'greener grid 2030',
    }),
    none,
  );
  assert.equal(factors, [
    {
      type: 'EmissionFactorsSet',
      kind: 'city',
      data: { factors: { electricity: 0.1 }, validFrom: '2030-01-01', source: 'greener grid 2030' },
    },
  ]);
  const added = expandOperation(
    parseOperation({
      type: 'add-network-elements',
      nodes: [
        {
          id: 'n-1',
          network: 'electricity',
          nodeKind: 'substation',
          location: { type: 'Point', coordinates: [26, 44] },
        },
      ],
      links: [
        {
          id: 'l-1',
          network: 'electricity',
          fromNode: 'n-1',
          toNode: 'n-0',
          path: {
            type: 'LineString',
            coordinates: [
              [26, 44],
              [26.01, 44],
            ],
          },
          capacityKw: 500,
        },
      ],
    }),
    none,
  );
  assert.equal(
    added.map((d) => [d.type, d.entityId]),
    [
      ['GridNodeAdded', 'n-1'],
      ['GridLinkAdded', 'l-1'],
    ],
  );
  const removed = expandOperation(
    parseOperation({ type: 'remove-network-elements', ids: ['n-1', 'l-1'] }),
    none,
  );
  assert.equal(
    removed.map((d) => [d.type, d.entityId]),
    [
      ['GridElementRemoved', 'n-1'],
      ['GridElementRemoved', 'l-1'],
    ],
  );
});

ops('a bad operation names the field and the value', () => {
  const fieldOf = (input: unknown): unknown[][] => {
    try {
      parseOperation(input);
    } catch (err) {
      assert.instance(err, ValidationError);
      return (err as ValidationError).issues.map((i) => [i.field, i.value]);
    }
    assert.unreachable('accepted');
    return [];
  };
  assert.equal(fieldOf({ type: 'add-chargers', count: 2, points: [[26, 44]] })[0], ['operation.count', 2]);
  assert.equal(fieldOf({ type: 'add-pv', filter: { use: 'castle' } })[0], ['operation.filter.use', 'castle']);
  assert.equal(fieldOf({ type: 'retrofit', filter: {}, measures: ['paint'], expectedSavingsPercent: 5 })[0], [
    'operation.measures.0',
    'paint',
  ]);
  assert.equal(fieldOf({ type: 'demolish-everything' })[0]?.[0], 'operation.type');
});

const cmp = suite('compare');

cmp('KPI deltas are absolute and relative, leaf by leaf, per district', () => {
  const d = compareKpis(
    { city: { co2e: 90, count: 3, label: 'x' }, districts: { a: { co2e: 40 }, b: { co2e: 50 } } },
    { city: { co2e: 100, count: 3 }, districts: { a: { co2e: 50 }, b: { co2e: 0 } } },
  );
  assert.equal(d.city, {
    co2e: { scenario: 90, real: 100, delta: -10, deltaPercent: -10 },
    count: { scenario: 3, real: 3, delta: 0, deltaPercent: 0 },
  });
  assert.equal(d.districts, {
    a: { co2e: { scenario: 40, real: 50, delta: -10, deltaPercent: -20 } },
    b: { co2e: { scenario: 50, real: 0, delta: 50, deltaPercent: null } },
  });
});

cmp('a layer diff lists added, changed (with the properties) and removed features', () => {
  const a = building('a', 26, 44, {});
  const b = building('b', 26.01, 44, {});
  const c = building('c', 26.02, 44, {});
  const b2 = { ...b, properties: { ...b.properties, pvKWp: 10, updatedAt: 'later' } };
  const diff = diffLayers(
    new Map([
      ['b', b2],
      ['c', c],
    ]),
    new Map([
      ['a', a],
      ['b', b],
    ]),
  );
  assert.equal(
    diff.added.map((f) => f.id),
    ['c'],
  );
  assert.equal(
    diff.removed.map((f) => f.id),
    ['a'],
  );
  assert.equal(
    diff.changed.map((x) => [x.id, x.properties]),
    [['b', ['pvKWp']]],
  );
});

ops.run();
cmp.run();
