import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CityTwin, createCityTwin, type EntityTarget } from '../../src/twin/cityTwin.js';
import { createTwinRegistry, TwinRegistry } from '../../src/twin/registry.js';
import { eventFactory, randomCityEvents, smallCityEvents, square } from '../support/twinFixtures.js';
import { twinImage } from '../support/twinImage.js';

const test = suite('city twin');
const history = randomCityEvents(7, 1500);

const replay = (events = history, bulk = false) => {
  const twin = createCityTwin('randville');
  if (bulk) twin.beginBulk();
  for (const e of events) twin.apply(e);
  twin.endBulk();
  return twin;
};

test('a bulk replay ends in the same twin as an incremental one', () => {
  assert.ok(twinImage(replay(history, true)) === twinImage(replay(history, false)));
});

test('a silent bulk replay, which writes states in place, ends in the twin an incremental one gives', () => {
  const silent = createCityTwin('randville');
  silent.beginBulk();
  for (const e of history) silent.applySilently(e);
  silent.endBulk();
  assert.ok(twinImage(silent) === twinImage(replay(history, false)));
});

test('silent bulk replays one after the other (a catch-up, then another) end in the incremental twin', () => {
  const twin = createCityTwin('randville');
  for (const part of [history.slice(0, 700), history.slice(700)]) {
    twin.beginBulk();
    for (const e of part) twin.applySilently(e);
    twin.endBulk();
  }
  assert.ok(twinImage(twin) === twinImage(replay(history, false)));
});

test('a copy taken during a silent bulk replay is not changed by the rest of the replay, nor changes it', () => {
  const twin = createCityTwin('randville');
  twin.beginBulk();
  for (const e of history.slice(0, 600)) twin.applySilently(e);
  const copy = twin.clone();
  for (const e of history.slice(600)) twin.applySilently(e);
  // The copy goes on with other events of its own.
  for (const e of history.slice(600, 900)) copy.applySilently(e);
  twin.endBulk();
  copy.endBulk();
  assert.ok(twinImage(twin) === twinImage(replay(history, false)), 'the original');
  assert.ok(twinImage(copy) === twinImage(replay(history.slice(0, 900), false)), 'the copy');
});

test('a snapshot plus the tail equals applying everything, at many cut points', () => {
  const full = twinImage(replay());
  for (const cut of [1, 57, 800, 1499]) {
    for (const bulk of [false, true]) {
      const head = createCityTwin('randville');
      if (bulk) head.beginBulk();
      for (const e of history.slice(0, cut)) head.apply(e);
      const restored = CityTwin.fromSnapshot(JSON.parse(JSON.stringify(head.toSnapshot())));
      for (const e of history.slice(cut)) restored.apply(e);
      assert.ok(twinImage(restored) === full, `cut at ${cut}, bulk ${bulk}`);
    }
  }
});

test('a clone is independent of its original', () => {
  const twin = replay(history.slice(0, 700));
  const before = twinImage(twin);
  const copy = twin.clone();
  for (const e of history.slice(700)) copy.apply(e);
  assert.ok(twinImage(twin) === before);
  assert.ok(twinImage(copy) === twinImage(replay()));
});

test('apply returns an upsert with the previous feature, and a remove with it', () => {
  const twin = createCityTwin('testville');
  const e = eventFactory();
  const added = twin.apply(
    e('building-testville.b1', 'BuildingRegistered', {
      footprint: square(26.0, 44.0),
      use: 'office',
      yearBuilt: 2000,
      floors: 3,
      grossFloorAreaM2: 900,
      district: 'd',
    }),
  );
  assert.is(added.length, 1);
  assert.is(added[0]?.op, 'upsert');
  assert.ok(added[0]?.op === 'upsert' && added[0].previous === undefined);
  const pv = twin.apply(e('building-testville.b1', 'RooftopPvInstalled', { kWp: 3 }));
  assert.ok(
    pv[0]?.op === 'upsert' && pv[0].previous?.properties.pvKWp === 0 && pv[0].feature.properties.pvKWp === 3,
  );
  const gone = twin.apply(e('building-testville.b1', 'BuildingDemolished', {}));
  assert.equal(
    gone.map((c) => [c.op, c.layer, c.id]),
    [['remove', 'buildings', 'b1']],
  );
  assert.is(twin.get('b1'), undefined);
  assert.is(twin.position, 3n);
});

test('an unknown event type changes nothing but advances the position', () => {
  const twin = createCityTwin('testville');
  const e = eventFactory(41n);
  assert.equal(twin.apply(e('city-testville', 'GeofenceDefined', { any: 1 })), []);
  assert.is(twin.position, 41n);
});

test('an event for an unknown entity changes nothing', () => {
  const twin = createCityTwin('testville');
  const e = eventFactory();
  assert.equal(twin.apply(e('grid-testville.nope', 'GridLoadReported', { loadKw: 1 })), []);
  assert.equal(twin.counts(), { buildings: 0, mobility: 0, grid: 0 });
});

test('an explicit target routes an overlay event to an entity', () => {
  const twin = createCityTwin('testville');
  for (const e of smallCityEvents()) twin.apply(e);
  const e = eventFactory(500n);
  const changes = twin.apply(e('scenario-s1', 'RooftopPvInstalled', { kWp: 4 }), {
    kind: 'building',
    entityId: 'b1',
  });
  assert.is(changes.length, 1);
  assert.is(twin.get('b1')?.feature.properties.pvKWp, 4);
});

test('a target keeps the record of its entity while it lives and lets it go once it is removed', () => {
  const twin = createCityTwin('testville');
  for (const e of smallCityEvents()) twin.apply(e);
  const e = eventFactory(500n);
  // One target for every event of the stream, as a registry's route is
  const target: EntityTarget = { kind: 'building', entityId: 'b1' };
  twin.apply(e('building-testville.b1', 'RooftopPvInstalled', { kWp: 4 }), target);
  twin.apply(e('building-testville.b1', 'RooftopPvInstalled', { kWp: 5 }), target);
  assert.ok(target.record !== undefined);
  twin.apply(e('building-testville.b1', 'BuildingDemolished', {}), target);
  assert.is(twin.get('b1'), undefined);
  assert.is(target.record, undefined);
});

test('an asset registered without a district is placed in the district that contains it', () => {
  const twin = createCityTwin('testville');
  for (const e of smallCityEvents()) twin.apply(e);
  assert.is(twin.kpis().districts.north?.vehicles, 1);
  assert.is(twin.kpis().districts.south?.evChargers.count, 1);
});

test.run();

const registry = suite('twin registry');

registry('routes events to one twin per city and skips scenario streams', () => {
  const twins = createTwinRegistry();
  const e = eventFactory();
  twins.apply(
    e('city-alpha', 'CityRegistered', {
      name: 'A',
      country: 'RO',
      timezone: 'Europe/Bucharest',
      boundary: square(26, 44, 1),
      population: 1,
      districts: [],
    }) as never,
  );
  const batch = twins.apply(
    e('mobility-beta.v1', 'MobilityAssetRegistered', {
      kind: 'car',
      location: { type: 'Point', coordinates: [26, 44] },
      operator: 'x',
    }) as never,
  );
  assert.is(twins.apply(e('scenario-s1', 'RooftopPvInstalled', { kWp: 1 }) as never), undefined);
  assert.equal(twins.cities(), ['alpha', 'beta']);
  assert.is(batch?.city, 'beta');
  assert.is(batch?.position, 2n);
  assert.is(twins.position, 3n);
});

registry('a registry snapshot restores every city', () => {
  const twins = createTwinRegistry();
  for (const e of smallCityEvents()) twins.apply(e as never);
  for (const e of randomCityEvents(3, 300)) twins.apply({ ...e, position: e.position + 1000n } as never);
  const restored = TwinRegistry.fromSnapshot(JSON.parse(JSON.stringify(twins.toSnapshot())));
  assert.equal(restored.cities(), ['randville', 'testville']);
  for (const c of restored.cities()) assert.ok(twinImage(restored.get(c)!) === twinImage(twins.get(c)!), c);
  assert.is(restored.position, twins.position);
});

registry('a registry restored in place applies what follows to the restored twins', () => {
  const history = smallCityEvents();
  const cut = Math.floor(history.length / 2);
  const reference = createTwinRegistry();
  for (const e of history) reference.apply(e as never);
  const twins = createTwinRegistry();
  for (const e of history.slice(0, cut)) twins.apply(e as never);
  const atCut = JSON.parse(JSON.stringify(twins.toSnapshot()));
  // Further events, then the restore: the registry must forget the twin it applied them to.
  for (const e of history.slice(cut)) twins.apply(e as never);
  twins.restore(atCut);
  for (const e of history.slice(cut)) twins.apply(e as never);
  for (const c of reference.cities()) assert.ok(twinImage(twins.get(c)!) === twinImage(reference.get(c)!), c);
});

/**
 * What the bbox index finds of a layer at points spread over the city (ids, sorted): a stale index entry
 * (an asset found where it no longer is, or missed where it is) changes it.
 */
function indexImage(twin: CityTwin, layer: 'buildings' | 'mobility' | 'grid'): string {
  const found: string[][] = [];
  for (const f of twin.features(layer)) {
    const [x, y] = (
      f.geometry.type === 'Point' ? f.geometry.coordinates : [Number.NaN, Number.NaN]
    ) as number[];
    if (Number.isNaN(x!)) continue;
    const hits = twin.query(layer, { bbox: [x! - 1e-4, y! - 1e-4, x! + 1e-4, y! + 1e-4] });
    found.push(hits.features.map((h) => String(h.id)).sort());
    assert.ok(
      hits.features.some((h) => h.id === f.id),
      `${String(f.id)} is found at its own point`,
    );
  }
  const all = twin.query(layer, { bbox: [-180, -90, 180, 90] });
  return JSON.stringify({ found, all: all.features.map((h) => String(h.id)).sort() });
}

registry(
  "a silent bulk replay through the registry, whose routes carry each entity's record, ends in the twin an incremental one gives",
  () => {
    const history = randomCityEvents(11, 2500);
    // Then events for every entity removed on the way (the write side refuses them; the twin ignores them):
    // a record a route still holds for a removed entity must not bring it back.
    let position = history.at(-1)!.position;
    const late = history
      .filter((e) => e.type === 'BuildingDemolished' || e.type === 'MobilityAssetDecommissioned')
      .map((e) => ({
        ...e,
        id: `late-${e.id}`,
        position: ++position,
        type: e.type === 'BuildingDemolished' ? 'RooftopPvInstalled' : 'AssetStatusChanged',
        data: e.type === 'BuildingDemolished' ? { kWp: 5 } : { status: 'available' },
      }));
    assert.ok(late.length > 3, 'the history removes entities');
    const events = [...history, ...late];

    const twins = createTwinRegistry();
    twins.beginBulk();
    for (const e of events) twins.apply(e as never, false);
    twins.endBulk();
    const replayed = twins.get('randville')!;
    const incremental = createCityTwin('randville');
    for (const e of events) incremental.apply(e);

    assert.ok(twinImage(replayed) === twinImage(incremental), 'same features, coverage and KPIs');
    for (const layer of ['buildings', 'mobility', 'grid'] as const) {
      assert.is(indexImage(replayed, layer), indexImage(incremental, layer), `the ${layer} index`);
    }
    // The routes now hold records: the same events again after the replay, live, change the twin as they
    // change the incremental one.
    const more = randomCityEvents(12, 400).map((e) => ({ ...e, position: e.position + position }));
    for (const e of more) {
      twins.apply(e as never);
      incremental.apply(e);
    }
    assert.ok(twinImage(replayed) === twinImage(incremental), 'after more events, live');
  },
);

registry(
  'events carrying stream numbers are routed by their stream, also when two streams share a number',
  () => {
    const history = randomCityEvents(5, 600);
    const plain = createTwinRegistry();
    for (const e of history) plain.apply(e as never);
    // Numbers as a store gives them (one per stream), then the same numbers again for other streams, as events
    // of a second store would carry: a number alone must never send an event to another stream's entity.
    const numbers = new Map<string, number>();
    const numbered = createTwinRegistry();
    for (const e of history) {
      if (!numbers.has(e.stream)) numbers.set(e.stream, numbers.size % 7);
      numbered.apply({ ...e, streamNumber: numbers.get(e.stream) } as never);
    }
    assert.ok(twinImage(numbered.get('randville')!) === twinImage(plain.get('randville')!));
  },
);

registry.run();
