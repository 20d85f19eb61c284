import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pointSchema, polygonSchema } from '../../src/domain/geometry.js';

const square = [
  [26.1, 44.4],
  [26.11, 44.4],
  [26.11, 44.41],
  [26.1, 44.41],
  [26.1, 44.4],
];

test('accepts a closed counter-clockwise polygon unchanged', () => {
  const parsed = polygonSchema.parse({ type: 'Polygon', coordinates: [square] });
  assert.equal(parsed.coordinates[0], square);
});

test('rewinds a clockwise exterior ring to the RFC 7946 right-hand rule', () => {
  const clockwise = [...square].reverse();
  const parsed = polygonSchema.parse({ type: 'Polygon', coordinates: [clockwise] });
  assert.equal(parsed.coordinates[0], square);
});

test('rejects an unclosed ring, naming the problem', () => {
  const result = polygonSchema.safeParse({ type: 'Polygon', coordinates: [square.slice(0, 4)] });
  assert.not.ok(result.success);
  assert.match(JSON.stringify(result.error?.issues), /not closed/);
});

test('rejects a self-intersecting (bow-tie) polygon', () => {
  const bowTie = [
    [26.1, 44.4],
    [26.11, 44.41],
    [26.11, 44.4],
    [26.1, 44.41],
    [26.1, 44.4],
  ];
  const result = polygonSchema.safeParse({ type: 'Polygon', coordinates: [bowTie] });
  assert.not.ok(result.success);
  assert.match(JSON.stringify(result.error?.issues), /self-intersecting/);
});

test('rejects a longitude out of range with the bad value in the message', () => {
  const result = pointSchema.safeParse({ type: 'Point', coordinates: [191.2, 44.4] });
  assert.not.ok(result.success);
  assert.match(JSON.stringify(result.error?.issues), /Longitude out of range: 191.2/);
});

test('rejects NaN coordinates', () => {
  const result = pointSchema.safeParse({ type: 'Point', coordinates: [Number.NaN, 44.4] });
  assert.not.ok(result.success);
});

test.run();
