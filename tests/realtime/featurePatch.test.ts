import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { applyPatch, patchOf } from '../../src/realtime/featurePatch.js';
import { createOutbox, type OutboxChange } from '../../src/realtime/outbox.js';
import type { TwinFeature } from '../../src/twin/changes.js';
import { flatChanges } from '../support/flatChanges.js';
import { viewHolding } from '../support/heldView.js';
import { overTheWire } from '../support/liveWire.js';

/** A bus as the twin shows it, at `lon`, last reported at second `t`, with `status`. */
const bus = (lon: number, t: number, status = 'in-service'): TwinFeature => ({
  type: 'Feature',
  id: 'a',
  geometry: { type: 'Point', coordinates: [lon, 44.05] },
  properties: {
    kind: 'bus',
    status,
    operator: 'Societatea de Transport București (ȘTB)',
    routes: ['104', '783'],
    lastPositionAt: `2026-03-03T08:00:${String(t).padStart(2, '0')}.000Z`,
    speedKmh: null,
  },
});

const change = (position: bigint, feature: TwinFeature, base: TwinFeature | undefined, coalescable = true) =>
  ({ op: 'upsert', layer: 'mobility', id: 'a', position, feature, base, coalescable }) satisfies OutboxChange;

const patches = suite('patches of features a console holds');

patches('a moved feature patches to exactly the new feature, with only what changed', () => {
  const before = bus(26.01, 1);
  const after = { ...bus(26.02, 2), properties: { ...bus(26.02, 2).properties, routes: ['104', '783'] } };
  const patch = patchOf(before, after)!;
  assert.equal(patch, {
    geometry: after.geometry,
    properties: { lastPositionAt: '2026-03-03T08:00:02.000Z' },
  });
  assert.equal(applyPatch(before, patch), after);
  assert.equal(before, bus(26.01, 1), 'the held feature is not changed');
});

patches('a change that drops a property or touches more than geometry and properties goes whole', () => {
  const before = bus(26.01, 1);
  const { speedKmh: _, ...rest } = before.properties;
  assert.is(patchOf(before, { ...before, properties: rest }), undefined);
  assert.is(patchOf(before, { ...before, bbox: [26, 44, 26.1, 44.1] }), undefined);
});

patches(
  'a coalesced report keeps the base of the one it replaces, so the patch is against what the console holds',
  () => {
    const box = createOutbox(10n, 100);
    const held = bus(26.01, 1);
    // The speed changes with the first report, not the second: a patch against `mid` would leave it out.
    const mid = { ...bus(26.02, 2), properties: { ...bus(26.02, 2).properties, speedKmh: 30 } };
    const last = { ...bus(26.03, 3), properties: { ...bus(26.03, 3).properties, speedKmh: 30 } };
    box.push(change(11n, mid, held));
    box.push(change(12n, last, mid));
    const m = overTheWire(box.drain('s', 100)!).message;
    assert.equal(m.changes, [
      {
        op: 'patch',
        layer: 'mobility',
        id: 'a',
        position: '12',
        geometry: last.geometry,
        properties: { lastPositionAt: '2026-03-03T08:00:03.000Z', speedKmh: 30 },
      },
    ]);
    const view = viewHolding('10', [{ layer: 'mobility', feature: held }]);
    view.applyChanges(m);
    assert.equal(view.features.get('mobility:a'), last);
  },
);

patches('a status change between two reports seals the first: each patch applies to what precedes it', () => {
  const box = createOutbox(10n, 100);
  const held = bus(26.01, 1);
  const moved = bus(26.02, 2);
  const stopped = bus(26.02, 2, 'maintenance');
  const movedAgain: TwinFeature = {
    ...bus(26.03, 3, 'maintenance'),
    properties: { ...bus(26.03, 3, 'maintenance').properties, speedKmh: 0 },
  };
  box.push(change(11n, moved, held));
  box.push(change(12n, stopped, moved, false));
  box.push(change(13n, movedAgain, stopped));
  const m = overTheWire(box.drain('s', 100)!).message;
  assert.equal(
    flatChanges(m).map((c) => `${c.op}@${c.position}`),
    ['patch@11', 'patch@12', 'patch@13'],
  );
  const view = viewHolding('10', [{ layer: 'mobility', feature: held }]);
  view.applyChanges(m);
  assert.equal(view.features.get('mobility:a'), movedAgain);
  assert.equal(view.gaps, []);
});

patches('an entity entering the view, then reporting again in the window, arrives whole', () => {
  const box = createOutbox(10n, 100);
  box.push(change(11n, bus(26.02, 2), undefined));
  box.push(change(12n, bus(26.03, 3), bus(26.02, 2)));
  const m = overTheWire(box.drain('s', 100)!).message;
  assert.equal(m.changes, [
    { op: 'upsert', layer: 'mobility', id: 'a', position: '12', feature: bus(26.03, 3) },
  ]);
});

patches.run();
