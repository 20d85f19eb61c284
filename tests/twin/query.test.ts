import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  bboxPolygon,
  booleanIntersects,
  booleanPointInPolygon,
  booleanWithin,
  circle,
  distance,
  pointToLineDistance,
  pointToPolygonDistance,
} from '@turf/turf';
import type { Geometry } from 'geojson';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { LayerName, TwinFeature } from '../../src/twin/changes.js';
import { createCityTwin } from '../../src/twin/cityTwin.js';
import type { BBox } from '../../src/twin/geo.js';
import { prng, randomCityEvents, smallCityEvents } from '../support/twinFixtures.js';

const golden = (name: string) =>
  JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'golden', name), 'utf8'));

const twin = createCityTwin('randville');
for (const e of randomCityEvents(11, 2500)) twin.apply(e);
const all = (layer: LayerName) => [...twin.features(layer)];
const ids = (fs: TwinFeature[]) => fs.map((f) => f.id);
const sortIds = (xs: string[]) => [...xs].sort();
const rnd = prng(99);

function randomBox(): BBox {
  const w = 0.002 + rnd() * 0.03;
  const h = 0.002 + rnd() * 0.03;
  const x = 26.0 + rnd() * (0.1 - w);
  const y = 44.0 + rnd() * (0.1 - h);
  return [x, y, x + w, y + h];
}

function bruteDistance(lon: number, lat: number, g: Geometry): number {
  if (g.type === 'Point') return distance([lon, lat], g.coordinates, { units: 'meters' });
  if (g.type === 'LineString') return pointToLineDistance([lon, lat], g, { units: 'meters' });
  if (g.type === 'Polygon') {
    return booleanPointInPolygon([lon, lat], g)
      ? 0
      : pointToPolygonDistance([lon, lat], g, { units: 'meters' });
  }
  throw new Error(g.type);
}

const test = suite('spatial queries');

test('bbox returns exactly the features a turf scan finds, on every layer', () => {
  for (let i = 0; i < 30; i++) {
    const box = randomBox();
    const poly = bboxPolygon(box);
    for (const layer of ['buildings', 'mobility', 'grid'] as const) {
      const expected = all(layer).filter((f) => booleanIntersects(f, poly));
      assert.equal(ids(twin.query(layer, { bbox: box }).features), sortIds(ids(expected)), `${layer} ${box}`);
    }
  }
});

test('near returns the features within the radius sorted by distance, with the distance', () => {
  for (let i = 0; i < 20; i++) {
    const lon = 26.0 + rnd() * 0.1;
    const lat = 44.0 + rnd() * 0.1;
    const radiusM = 200 + rnd() * 1500;
    for (const layer of ['buildings', 'mobility', 'grid'] as const) {
      const expected = all(layer)
        .map((f) => ({ id: f.id, d: bruteDistance(lon, lat, f.geometry) }))
        .filter((x) => x.d <= radiusM)
        .sort((a, b) => a.d - b.d || (a.id < b.id ? -1 : 1));
      const got = twin.query(layer, { near: { lon, lat, radiusM } }).features;
      // A feature right on the radius may fall either side of a floating-point hair; require the rest equal.
      const onEdge = (id: string) =>
        Math.abs((expected.find((x) => x.id === id)?.d ?? radiusM) - radiusM) < 0.01;
      assert.equal(
        ids(got).filter((id) => !onEdge(id)),
        expected.map((x) => x.id).filter((id) => !onEdge(id)),
      );
      for (const f of got) {
        const d = f.properties.distanceM as number;
        assert.ok(Math.abs(d - bruteDistance(lon, lat, f.geometry)) < 0.5, `${f.id} distance ${d}`);
      }
    }
  }
});

test('within returns the features a turf booleanWithin scan finds', () => {
  for (let i = 0; i < 10; i++) {
    const area = circle([26.0 + rnd() * 0.1, 44.0 + rnd() * 0.1], 0.3 + rnd() * 2, {
      steps: 24,
      units: 'kilometers',
    }).geometry;
    for (const layer of ['buildings', 'mobility'] as const) {
      const expected = all(layer).filter((f) => booleanWithin(f.geometry, area));
      assert.equal(ids(twin.query(layer, { within: area }).features), sortIds(ids(expected)));
    }
  }
});

test('kind and attribute filters combine with the spatial ones', () => {
  const box = randomBox();
  const got = twin.query('mobility', {
    bbox: box,
    kinds: ['ev-charger', 'bus'],
    filters: { operator: ['STB'] },
  });
  const poly = bboxPolygon(box);
  const expected = all('mobility').filter(
    (f) =>
      ['ev-charger', 'bus'].includes(f.properties.kind as string) &&
      f.properties.operator === 'STB' &&
      booleanIntersects(f, poly),
  );
  assert.equal(ids(got.features), sortIds(ids(expected)));
  const classC = twin.query('buildings', { filters: { energyClass: ['C'] } }).features;
  assert.ok(classC.length > 0);
  assert.ok(classC.every((f) => f.properties.energyClass === 'C'));
});

test('paging with limit and cursor visits every match once, in order', () => {
  const whole = ids(twin.query('buildings', {}).features);
  const seen: string[] = [];
  let cursor: string | undefined;
  do {
    const page = twin.query('buildings', { limit: 97, ...(cursor ? { cursor } : {}) });
    seen.push(...ids(page.features));
    cursor = page.next;
  } while (cursor);
  assert.equal(seen, whole);
  const near = { lon: 26.05, lat: 44.05, radiusM: 3000 };
  const nearAll = ids(twin.query('buildings', { near }).features);
  const nearSeen: string[] = [];
  cursor = undefined;
  do {
    const page = twin.query('buildings', { near, limit: 50, ...(cursor ? { cursor } : {}) });
    nearSeen.push(...ids(page.features));
    cursor = page.next;
  } while (cursor);
  assert.equal(nearSeen, nearAll);
});

test('a moved vehicle is found at its new place and no longer at its old one', () => {
  const small = createCityTwin('testville');
  for (const e of smallCityEvents()) small.apply(e);
  assert.equal(ids(small.query('mobility', { bbox: [26.009, 44.011, 26.011, 44.013] }).features), ['v1']);
  small.apply({
    id: 'x',
    type: 'VehiclePositionReported',
    stream: 'mobility-testville.v1',
    position: 1000n,
    data: { location: { type: 'Point', coordinates: [26.001, 44.019] } },
    metadata: { occurredAt: '2025-02-01T00:00:00Z' },
  });
  assert.equal(ids(small.query('mobility', { bbox: [26.009, 44.011, 26.011, 44.013] }).features), []);
  assert.equal(ids(small.query('mobility', { bbox: [26.0, 44.018, 26.002, 44.02] }).features), ['v1']);
});

test('matches the golden GeoJSON of Testville south-district buildings and the grid near n1', () => {
  const small = createCityTwin('testville');
  for (const e of smallCityEvents()) small.apply(e);
  const south = small.query('buildings', { bbox: [26.0, 44.0, 26.02, 44.0099] });
  assert.equal(
    { type: 'FeatureCollection', features: south.features },
    golden('testville-buildings-south.geojson'),
  );
  const grid = small.query('grid', { near: { lon: 26.002, lat: 44.002, radiusM: 1000 } });
  assert.equal(
    { type: 'FeatureCollection', features: grid.features },
    golden('testville-grid-near-n1.geojson'),
  );
});

test.run();
