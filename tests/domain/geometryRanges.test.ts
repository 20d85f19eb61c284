import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { lineStringSchema, multiPolygonSchema, polygonSchema } from '../../src/domain/geometry.js';

const test = suite('geometry ranges and winding');

const square = [
  [26.1, 44.4],
  [26.11, 44.4],
  [26.11, 44.41],
  [26.1, 44.41],
  [26.1, 44.4],
];
const hole = [
  [26.102, 44.402],
  [26.102, 44.404],
  [26.104, 44.404],
  [26.104, 44.402],
  [26.102, 44.402],
];

const issuesOf = (result: {
  success: boolean;
  error?: { issues: { path: PropertyKey[]; message: string }[] };
}) => (result.error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);

test('reports every out-of-range value with its path, in position order among shape errors', () => {
  const result = lineStringSchema.safeParse({
    type: 'LineString',
    coordinates: [
      [26.1, 44.4],
      [191.2, 44.4],
      ['x', 1],
      [26.1, -91],
    ],
  });
  assert.equal(issuesOf(result), [
    'coordinates.1.0: Longitude out of range: 191.2',
    'coordinates.2: Invalid input',
    'coordinates.3.1: Latitude out of range: -91',
  ]);
});

test('a hole is rewound clockwise and the exterior counter-clockwise, without touching the input', () => {
  const input = { type: 'Polygon', coordinates: [[...square].reverse(), [...hole].reverse()] };
  const before = JSON.stringify(input);
  const parsed = polygonSchema.parse(input);
  assert.equal(parsed.coordinates[0], square);
  assert.equal(parsed.coordinates[1], hole);
  assert.is(JSON.stringify(input), before);
});

test('every polygon of a multipolygon is rewound', () => {
  const parsed = multiPolygonSchema.parse({
    type: 'MultiPolygon',
    coordinates: [[[...square].reverse()], [square.map(([x, y]) => [x! + 0.1, y!]).reverse()]],
  });
  assert.equal(parsed.coordinates[0]![0], square);
  assert.equal(
    parsed.coordinates[1]![0],
    square.map(([x, y]) => [x! + 0.1, y!]),
  );
});

test.run();
