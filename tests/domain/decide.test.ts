import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DomainRuleError } from '../../src/core/errors.js';
import { type DomainEvent, eventDefinition } from '../../src/domain/events.js';
import { cityStream, entityStream } from '../../src/domain/streams.js';
import { decideEvent, evolveState, initialState, type WriteState } from '../../src/domain/writeState.js';
import { buildingRegistered, footprintAt, squareCityRegistered } from '../write/fixtures.js';

const CITY = 'testville';
const NOW = new Date('2026-06-01T12:00:00Z');

interface Proposed {
  type: string;
  entityId?: string;
  data: unknown;
}

/** Given some recorded history (already valid), decide a proposed event against it. */
function world(history: Proposed[] = [squareCityRegistered]) {
  const states = new Map<string, WriteState>();
  const streamOf = (p: Proposed) => {
    const kind = eventDefinition(p.type)!.kind;
    return kind === 'city' ? cityStream(CITY) : entityStream(kind, CITY, p.entityId!);
  };
  const stateOf = (p: Proposed) => states.get(streamOf(p)) ?? initialState(eventDefinition(p.type)!.kind);
  for (const event of history) states.set(streamOf(event), evolveState(stateOf(event), event));
  return {
    decide(proposed: Proposed): DomainEvent[] {
      return decideEvent(proposed as DomainEvent, stateOf(proposed), {
        now: NOW,
        city: CITY,
        cityState: (states.get(cityStream(CITY)) ?? initialState('city')) as never,
        entityId: proposed.entityId ?? CITY,
        stateOf: (kind, id) => (states.get(entityStream(kind, CITY, id)) ?? initialState(kind)) as never,
      });
    },
  };
}

/** Asserts a DomainRuleError naming this field (and, when given, this value). */
function rejects(fn: () => unknown, field: string, value?: unknown) {
  try {
    fn();
  } catch (err) {
    assert.instance(err, DomainRuleError);
    const issue = (err as DomainRuleError).issues[0]!;
    assert.is(issue.field, field);
    if (value !== undefined) assert.equal(issue.value, value);
    return;
  }
  assert.unreachable(`expected a rejection naming ${field}`);
}

const city = suite('city rules');
city('registers a city once', () => {
  assert.is(world([]).decide(squareCityRegistered).length, 1);
  rejects(() => world().decide(squareCityRegistered), 'city', CITY);
});
city('rejects a district listed twice', () => {
  const twice = {
    ...squareCityRegistered,
    data: {
      ...squareCityRegistered.data,
      districts: [
        { id: 'a', name: 'A' },
        { id: 'a', name: 'A again' },
      ],
    },
  };
  rejects(() => world([]).decide(twice), 'data.districts.1.id', 'a');
});
city('rejects emission factors for an unregistered city', () => {
  rejects(
    () =>
      world([]).decide({
        type: 'EmissionFactorsSet',
        data: { factors: { electricity: 0.3 }, source: 'ANRE' },
      }),
    'city',
  );
});
city('rejects removing a geofence that was never defined', () => {
  rejects(
    () => world().decide({ type: 'GeofenceRemoved', data: { geofenceId: 'gf-1' } }),
    'data.geofenceId',
    'gf-1',
  );
});
city.run();

const building = suite('building rules');
building('rejects any building event before the city is registered', () => {
  rejects(() => world([]).decide(buildingRegistered('b-1')), 'city', CITY);
});
building('registers a building inside the city, in one of its districts', () => {
  assert.is(world().decide(buildingRegistered('b-1')).length, 1);
});
building('rejects a second registration of the same building', () => {
  rejects(
    () => world([squareCityRegistered, buildingRegistered('b-1')]).decide(buildingRegistered('b-1')),
    'entityId',
    'b-1',
  );
});
building('rejects a building whose footprint centroid lies outside the city', () => {
  rejects(() => world().decide(buildingRegistered('b-1', 27.5, 44.45)), 'data.footprint');
});
building('accepts a building straddling the boundary when its centroid is inside', () => {
  // 0.01° square starting just inside the west edge: some vertices lie outside, the centroid does not
  const straddling = {
    ...buildingRegistered('b-2'),
    data: { ...buildingRegistered('b-2').data, footprint: footprintAt(25.999, 44.45, 0.01) },
  };
  assert.is(world().decide(straddling).length, 1);
});
building('rejects a district that is not one of the city', () => {
  rejects(
    () => world().decide(buildingRegistered('b-1', 26.1, 44.45, 'sector-9')),
    'data.district',
    'sector-9',
  );
});
building('rejects an event for an unregistered building', () => {
  rejects(
    () => world().decide({ type: 'RooftopPvInstalled', entityId: 'ghost', data: { kWp: 10 } }),
    'entityId',
    'ghost',
  );
});
building('rejects a retrofit of a demolished building', () => {
  const w = world([
    squareCityRegistered,
    buildingRegistered('b-1'),
    { type: 'BuildingDemolished', entityId: 'b-1', data: {} },
  ]);
  rejects(
    () =>
      w.decide({
        type: 'BuildingRetrofitted',
        entityId: 'b-1',
        data: { measures: ['windows'], expectedSavingsPercent: 10 },
      }),
    'entityId',
    'b-1',
  );
});
building('rejects a meter reading whose period ends in the future', () => {
  const w = world([squareCityRegistered, buildingRegistered('b-1')]);
  const reading = (periodEnd: string) => ({
    type: 'MeterReadingRecorded',
    entityId: 'b-1',
    data: { carrier: 'electricity', kwh: 120, periodStart: '2026-05-01T00:00:00Z', periodEnd },
  });
  assert.is(w.decide(reading('2026-06-01T00:00:00Z')).length, 1);
  rejects(() => w.decide(reading('2026-07-01T00:00:00Z')), 'data.periodEnd', '2026-07-01T00:00:00Z');
});
building('rejects a correction that moves a building into an unknown district', () => {
  const w = world([squareCityRegistered, buildingRegistered('b-1')]);
  rejects(
    () => w.decide({ type: 'BuildingAttributesCorrected', entityId: 'b-1', data: { district: 'west' } }),
    'data.district',
    'west',
  );
});
building.run();

const charger = (id: string, lon = 26.1, lat = 44.45, capacity = 2) => ({
  type: 'MobilityAssetRegistered',
  entityId: id,
  data: {
    kind: 'ev-charger',
    location: { type: 'Point', coordinates: [lon, lat] },
    operator: 'Renovatio',
    capacity,
  },
});
const bus = (id: string) => ({
  type: 'MobilityAssetRegistered',
  entityId: id,
  data: { kind: 'bus', location: { type: 'Point', coordinates: [26.1, 44.45] }, operator: 'STB' },
});

const mobility = suite('mobility rules');
mobility('rejects a static asset registered outside the city', () => {
  rejects(() => world().decide(charger('c-1', 28.0, 44.45)), 'data.location');
});
mobility('accepts a vehicle registered anywhere (it moves)', () => {
  const far = {
    ...bus('bus-1'),
    data: { ...bus('bus-1').data, location: { type: 'Point', coordinates: [28, 45] } },
  };
  assert.is(world().decide(far).length, 1);
});
mobility('rejects a position report for a static asset', () => {
  const w = world([squareCityRegistered, charger('c-1')]);
  rejects(
    () =>
      w.decide({
        type: 'VehiclePositionReported',
        entityId: 'c-1',
        data: { location: { type: 'Point', coordinates: [26.1, 44.45] } },
      }),
    'type',
    'VehiclePositionReported',
  );
});
mobility('accepts a position report for a bus', () => {
  const w = world([squareCityRegistered, bus('bus-1')]);
  assert.is(
    w.decide({
      type: 'VehiclePositionReported',
      entityId: 'bus-1',
      data: { location: { type: 'Point', coordinates: [26.1, 44.46] } },
    }).length,
    1,
  );
});
mobility('rejects a charging session at anything but a charger', () => {
  const w = world([squareCityRegistered, bus('bus-1')]);
  const session = { energyKwh: 20, startedAt: '2026-05-31T10:00:00Z', endedAt: '2026-05-31T11:00:00Z' };
  rejects(() => w.decide({ type: 'ChargingSessionRecorded', entityId: 'bus-1', data: session }), 'type');
});
mobility('rejects occupancy above capacity', () => {
  const w = world([squareCityRegistered, charger('c-1', 26.1, 44.45, 2)]);
  assert.is(w.decide({ type: 'OccupancyReported', entityId: 'c-1', data: { occupied: 2 } }).length, 1);
  rejects(
    () => w.decide({ type: 'OccupancyReported', entityId: 'c-1', data: { occupied: 3 } }),
    'data.occupied',
    3,
  );
});
mobility('rejects any event for a decommissioned asset', () => {
  const w = world([
    squareCityRegistered,
    bus('bus-1'),
    { type: 'MobilityAssetDecommissioned', entityId: 'bus-1', data: {} },
  ]);
  rejects(
    () => w.decide({ type: 'AssetStatusChanged', entityId: 'bus-1', data: { status: 'in-service' } }),
    'entityId',
    'bus-1',
  );
});
mobility.run();

const node = (id: string, network = 'electricity') => ({
  type: 'GridNodeAdded',
  entityId: id,
  data: { network, nodeKind: 'substation', location: { type: 'Point', coordinates: [26.1, 44.45] } },
});
const link = (id: string, fromNode: string, toNode: string, network = 'electricity') => ({
  type: 'GridLinkAdded',
  entityId: id,
  data: {
    network,
    fromNode,
    toNode,
    capacityKw: 10_000,
    path: {
      type: 'LineString',
      coordinates: [
        [26.1, 44.45],
        [26.11, 44.45],
      ],
    },
  },
});

const grid = suite('grid rules');
grid('accepts a link between two existing nodes of its network', () => {
  assert.is(
    world([squareCityRegistered, node('n-1'), node('n-2')]).decide(link('l-1', 'n-1', 'n-2')).length,
    1,
  );
});
grid('rejects a link to a node that does not exist', () => {
  rejects(
    () => world([squareCityRegistered, node('n-1')]).decide(link('l-1', 'n-1', 'n-9')),
    'data.toNode',
    'n-9',
  );
});
grid('rejects a link to a node of another network', () => {
  rejects(
    () => world([squareCityRegistered, node('n-1'), node('n-2', 'gas')]).decide(link('l-1', 'n-1', 'n-2')),
    'data.toNode',
    'n-2',
  );
});
grid('rejects a link to a removed node', () => {
  const w = world([
    squareCityRegistered,
    node('n-1'),
    node('n-2'),
    { type: 'GridElementRemoved', entityId: 'n-1', data: {} },
  ]);
  rejects(() => w.decide(link('l-1', 'n-1', 'n-2')), 'data.fromNode', 'n-1');
});
grid('rejects a link whose end is another link', () => {
  const w = world([squareCityRegistered, node('n-1'), node('n-2'), link('l-1', 'n-1', 'n-2'), node('n-3')]);
  rejects(() => w.decide(link('l-2', 'l-1', 'n-3')), 'data.fromNode', 'l-1');
});
grid('rejects a load report for a removed element', () => {
  const w = world([
    squareCityRegistered,
    node('n-1'),
    { type: 'GridElementRemoved', entityId: 'n-1', data: {} },
  ]);
  rejects(
    () => w.decide({ type: 'GridLoadReported', entityId: 'n-1', data: { loadKw: 5 } }),
    'entityId',
    'n-1',
  );
});
grid('rejects adding the same element twice', () => {
  rejects(() => world([squareCityRegistered, node('n-1')]).decide(node('n-1')), 'entityId', 'n-1');
});
grid.run();
