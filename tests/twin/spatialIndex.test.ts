import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createRng } from '../../seeds/prng.js';
import type { BBox } from '../../src/twin/geo.js';
import { SpatialIndex } from '../../src/twin/spatialIndex.js';

const test = suite('spatial index');

/** The ids a brute-force scan finds in a box, sorted. */
function scan(boxes: Map<string, BBox>, q: BBox): string[] {
  const out: string[] = [];
  for (const [id, b] of boxes) if (b[0] <= q[2] && b[2] >= q[0] && b[1] <= q[3] && b[3] >= q[1]) out.push(id);
  return out.sort();
}

const ids = (index: SpatialIndex, q: BBox) =>
  index
    .search(q)
    .map((i) => i.id)
    .sort();

function randomBox(rng: ReturnType<typeof createRng>, size: number): BBox {
  const x = rng.float(0, 100);
  const y = rng.float(0, 100);
  return [x, y, x + rng.float(0, size), y + rng.float(0, size)];
}

/** A box, or (one time in three) a point, since points are kept apart from the tree (in a grid). */
function randomEntry(rng: ReturnType<typeof createRng>): BBox {
  if (rng.float(0, 1) < 0.65) return randomBox(rng, 2);
  const x = rng.float(0, 100);
  const y = rng.float(0, 100);
  return [x, y, x, y];
}

/** A query box: mostly wide ones, sometimes a small one (a few grid cells), sometimes on a point's corner. */
function randomQuery(rng: ReturnType<typeof createRng>, boxes: Map<string, BBox>): BBox {
  const r = rng.float(0, 1);
  if (r < 0.6) return randomBox(rng, 20);
  if (r < 0.9 || boxes.size === 0) return randomBox(rng, 0.05);
  // A box whose corner is exactly an entry's corner: edges count as inside.
  const b = [...boxes.values()][rng.int(0, boxes.size - 1)]!;
  return [b[0] - rng.float(0, 0.03), b[1] - rng.float(0, 0.03), b[0], b[1]];
}

test('copies share a tree yet answer like a fresh index after their own inserts, moves and removals', () => {
  const rng = createRng('spatial-index-copies');
  const first = { index: new SpatialIndex(), boxes: new Map<string, BBox>() };
  const sides = [first];
  for (let step = 0; step < 40_000; step++) {
    const side = sides[rng.int(0, sides.length - 1)]!;
    // Copies now and then, of whichever side; more than a few thousand changes make a side load its own tree.
    if (step % 5_000 === 4_999) sides.push({ index: side.index.clone(), boxes: new Map(side.boxes) });
    const r = rng.float(0, 1);
    if (r < 0.5) {
      const id = `e${rng.int(0, 2_000)}`;
      const box = randomEntry(rng);
      side.index.set(id, box);
      side.boxes.set(id, box);
    } else if (r < 0.65) {
      const id = `e${rng.int(0, 2_000)}`;
      side.index.delete(id);
      side.boxes.delete(id);
    } else {
      const q = randomQuery(rng, side.boxes);
      assert.equal(ids(side.index, q), scan(side.boxes, q), `step ${step}`);
    }
  }
  assert.is(sides.length, 9, 'copies were made');
  for (const side of sides) {
    assert.is(side.index.size, side.boxes.size);
    const q: BBox = [0, 0, 200, 200];
    assert.equal(ids(side.index, q), scan(side.boxes, q));
  }
});

test('points move between grid cells and are found by boxes of any size, copies untouched', () => {
  const index = new SpatialIndex();
  index.set('bus', [26.1, 44.4, 26.1, 44.4]);
  index.set('stop', [26.2, 44.5, 26.2, 44.5]);
  index.set('block', [26.05, 44.35, 26.15, 44.45]);
  const copy = index.clone();
  index.set('bus', [26.3, 44.6, 26.3, 44.6]);
  index.delete('stop');
  assert.equal(ids(index, [26.09, 44.39, 26.11, 44.41]), ['block'], 'the bus left its cell');
  assert.equal(ids(index, [26.3, 44.6, 26.3, 44.6]), ['bus'], 'a box of zero size on the point');
  assert.equal(ids(index, [-180, -90, 180, 90]), ['block', 'bus']);
  assert.equal(ids(copy, [26.09, 44.39, 26.11, 44.41]), ['block', 'bus'], 'the copy keeps its bus');
  assert.equal(ids(copy, [-180, -90, 180, 90]), ['block', 'bus', 'stop']);
  // Off the globe's coordinates a point is an ordinary entry of the tree.
  index.set('far', [500, 500, 500, 500]);
  assert.equal(ids(index, [499, 499, 501, 501]), ['far']);
});

test('a deferred index answers after rebuild, also when copied while deferred', () => {
  const index = new SpatialIndex();
  index.defer();
  index.set('a', [0, 0, 1, 1]);
  index.set('b', [5, 5, 6, 6]);
  const copy = index.clone();
  index.rebuild();
  copy.set('c', [0.5, 0.5, 0.6, 0.6]);
  copy.rebuild();
  assert.equal(ids(index, [0, 0, 2, 2]), ['a']);
  assert.equal(ids(copy, [0, 0, 2, 2]), ['a', 'c']);
});

test('resuming after a deferral keeps the tree when nothing changed, and reloads it when something did', () => {
  const index = new SpatialIndex();
  index.set('a', [0, 0, 1, 1]);
  index.defer();
  index.resume();
  assert.equal(ids(index, [0, 0, 2, 2]), ['a']);
  index.defer();
  index.set('b', [0.5, 0.5, 0.7, 0.7]);
  index.delete('a');
  index.resume();
  assert.equal(ids(index, [0, 0, 2, 2]), ['b']);
});

test.run();
