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
      const box = randomBox(rng, 2);
      side.index.set(id, box);
      side.boxes.set(id, box);
    } else if (r < 0.65) {
      const id = `e${rng.int(0, 2_000)}`;
      side.index.delete(id);
      side.boxes.delete(id);
    } else {
      const q = randomBox(rng, 20);
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
