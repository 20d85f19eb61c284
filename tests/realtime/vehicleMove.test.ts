import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { LiveChange, LiveMoves } from '../../src/realtime/contract.js';
import { createOutbox, liveChangesOf, type OutboxChange } from '../../src/realtime/outbox.js';
import { applyMove, pushMove, resolveMoveTimes } from '../../src/realtime/vehicleMove.js';
import type { TwinFeature } from '../../src/twin/changes.js';
import { flatChanges } from '../support/flatChanges.js';
import { viewHolding } from '../support/heldView.js';
import { overTheWire } from '../support/liveWire.js';
import {
  CITY,
  type Harness,
  openConsole,
  point,
  registerVehicle,
  setStatus,
  startHarness,
  twinView,
  until,
} from './liveHarness.js';

/** A bus with every property the twin gives a mobility feature that a report touches. */
const bus = (lon: number, t: number, extra: Record<string, unknown> = {}): TwinFeature => {
  const at = `2026-03-03T08:00:${String(t).padStart(2, '0')}.000Z`;
  return {
    type: 'Feature',
    id: 'b1',
    geometry: { type: 'Point', coordinates: [lon, 44.05] },
    properties: {
      kind: 'bus',
      status: 'in-service',
      district: 'sector-1',
      routes: ['104'],
      lastPositionAt: at,
      speedKmh: null,
      headingDeg: null,
      updatedAt: at,
      ...extra,
    },
  };
};

const queued = (
  feature: TwinFeature,
  base: TwinFeature | undefined,
  layer: OutboxChange['layer'] = 'mobility',
) =>
  ({ op: 'upsert', layer, id: 'b1', position: 12n, feature, base, coalescable: true }) satisfies OutboxChange;

/** A message's change list as a console decodes it off the wire. */
const changesOverTheWire = (changes: LiveChange[]) =>
  overTheWire({ subscriptionId: 's', after: '10', position: '12', changes });

const form = suite('the move form of a position report');

/** The `moves` block of one move. */
const oneMove = (at: string, x: number, v: number | null, h: number | null): LiveMoves => ({
  op: 'moves',
  id: ['b1'],
  offset: [2],
  x: [x],
  y: [44.05],
  at: [at],
  ...(v !== null ? { v: [v] } : {}),
  ...(h !== null ? { h: [h] } : {}),
});

form(
  'a report of a held vehicle is a move that gives exactly the new feature, smaller than its patch',
  () => {
    const held = bus(26.01, 1);
    const moved = bus(26.02, 2, { speedKmh: 31.5, headingDeg: 90 });
    const changes = liveChangesOf([queued(moved, held)], 10n);
    assert.equal(changes, [oneMove(moved.properties.updatedAt as string, 26.02, 31.5, 90)]);
    const { message, text } = changesOverTheWire(changes);
    assert.equal(message.changes, changes, 'the wire form decodes to the same change');
    const patchText = JSON.stringify({
      op: 'patch',
      layer: 'mobility',
      id: 'b1',
      position: '12',
      geometry: moved.geometry,
      properties: {
        lastPositionAt: moved.properties.lastPositionAt,
        updatedAt: moved.properties.updatedAt,
        speedKmh: 31.5,
        headingDeg: 90,
      },
    });
    assert.ok(text.length < patchText.length, 'a move says less than the patch');
    const view = viewHolding('10', [{ layer: 'mobility', feature: bus(26.01, 1) }]);
    view.applyChanges(message);
    assert.equal(view.features.get('mobility:b1'), moved);
    assert.equal(view.gaps, []);
  },
);

form('a report without speed or heading clears them, as the twin does', () => {
  const held = bus(26.01, 1, { speedKmh: 20, headingDeg: 180 });
  const moved = bus(26.011, 2);
  const changes = liveChangesOf([queued(moved, held)], 10n);
  assert.equal(changes, [oneMove(moved.properties.updatedAt as string, 26.011, null, null)]);
  applyMove(held, changes[0] as LiveMoves, 0);
  assert.equal(held, moved);
});

form('a block leaves out speed and heading until a move has one, then keeps the columns aligned', () => {
  const at = '2026-03-03T08:00:02.000Z';
  const bare: LiveChange[] = [];
  pushMove(bare, 'b1', 1, { x: 26.01, y: 44.05, at, v: null, h: null });
  pushMove(bare, 'b2', 2, { x: 26.02, y: 44.05, at, v: null, h: null });
  const { message, text } = changesOverTheWire(bare);
  assert.not.match(text, /"v"|"h"/, 'no column of nulls on the wire');
  const held = bus(26.0, 1, { speedKmh: 20, headingDeg: 180 });
  applyMove(held, message.changes[0] as LiveMoves, 0);
  assert.equal([held.properties.speedKmh, held.properties.headingDeg], [null, null]);

  const mixed: LiveChange[] = [];
  pushMove(mixed, 'b1', 1, { x: 26.01, y: 44.05, at, v: null, h: null });
  pushMove(mixed, 'b2', 2, { x: 26.02, y: 44.05, at, v: 31.5, h: null });
  pushMove(mixed, 'b3', 3, { x: 26.03, y: 44.05, at, v: null, h: 90 });
  const block = mixed[0] as LiveMoves;
  assert.equal(block.v, [null, 31.5, null]);
  assert.equal(block.h, [null, null, 90]);
  assert.equal(
    flatChanges(changesOverTheWire(mixed).message).map((c) => (c.op === 'move' ? [c.v, c.h] : c.op)),
    [
      [null, null],
      [31.5, null],
      [null, 90],
    ],
  );
});

form('moves that follow each other share one block; anything between them starts a new one', () => {
  const box = createOutbox(10n, 100);
  const vehicle = (id: string, lon: number, t: number, extra: Record<string, unknown> = {}) => ({
    ...bus(lon, t, extra),
    id,
  });
  const push = (id: string, position: bigint, feature: TwinFeature, base: TwinFeature | undefined) =>
    box.push({ op: 'upsert', layer: 'mobility', id, position, feature, base, coalescable: !!base });
  push('b1', 11n, vehicle('b1', 26.02, 2), vehicle('b1', 26.01, 1));
  push('b2', 12n, vehicle('b2', 26.03, 2), vehicle('b2', 26.01, 1));
  push('b3', 13n, vehicle('b3', 26.04, 3, { status: 'maintenance' }), vehicle('b3', 26.01, 1));
  push('b4', 14n, vehicle('b4', 26.05, 4), vehicle('b4', 26.01, 1));
  const m = box.drain('s', 100)!;
  assert.equal(
    m.changes.map((c) => (c.op === 'moves' ? `moves ${c.id.join(',')} +${c.offset.join(',')}` : c.op)),
    ['moves b1,b2 +1,2', 'patch', 'moves b4 +4'],
  );
});

form('a report that also changes another property is a patch, not a move', () => {
  const held = bus(26.01, 1);
  const [change] = liveChangesOf([queued(bus(26.02, 2, { district: 'sector-2' }), held)], 10n);
  assert.is(change?.op, 'patch');
  assert.equal(change?.op === 'patch' && change.properties, {
    district: 'sector-2',
    lastPositionAt: '2026-03-03T08:00:02.000Z',
    updatedAt: '2026-03-03T08:00:02.000Z',
  });
});

form('what a report alone cannot say stays a patch or an upsert', () => {
  const opOf = (change: OutboxChange) => liveChangesOf([change], 10n)[0]?.op;
  const held = bus(26.01, 1);
  // Updated later than the last position (a status change's time): not what one report sets.
  const touched = bus(26.01, 1, { updatedAt: '2026-03-03T08:00:05.000Z' });
  assert.is(opOf(queued(touched, held)), 'patch');
  // A point with an altitude, or a geometry that is not a point.
  const high: TwinFeature = {
    ...bus(26.02, 2),
    geometry: { type: 'Point', coordinates: [26.02, 44.05, 80] },
  };
  assert.is(opOf(queued(high, held)), 'patch');
  // A feature with members besides type, id, geometry and properties.
  const bbox: TwinFeature['bbox'] = [26, 44, 26.1, 44.1];
  const boxed = (f: TwinFeature): TwinFeature => ({ ...f, bbox });
  assert.is(opOf(queued(boxed(bus(26.02, 2)), boxed(held))), 'patch');
  // Another layer, and an entity the console does not hold yet.
  assert.is(opOf(queued(bus(26.02, 2), held, 'grid')), 'patch');
  assert.is(opOf(queued(bus(26.02, 2), undefined)), 'upsert');
});

form('coalesced reports leave as one move against what the console held', () => {
  const box = createOutbox(10n, 100);
  const held = bus(26.01, 1);
  const mid = bus(26.02, 2, { speedKmh: 30 });
  const last = bus(26.03, 3);
  box.push({ ...queued(mid, held), position: 11n });
  box.push({ ...queued(last, mid), position: 12n });
  const m = box.drain('s', 100)!;
  assert.equal(m.changes, [oneMove(last.properties.updatedAt as string, 26.03, null, null)]);
  const view = viewHolding('10', [{ layer: 'mobility', feature: bus(26.01, 1) }]);
  view.applyChanges(changesOverTheWire(m.changes).message);
  assert.equal(view.features.get('mobility:b1'), last);
});

form("a block's positions go as offsets from the message's after, a repeated time as null", () => {
  const box = createOutbox(1_000n, 100);
  const t1 = '2026-03-03T08:00:01.000Z';
  const t2 = '2026-03-03T08:00:02.000Z';
  const vehicle = (id: string, lon: number, at: string): TwinFeature => {
    const f = bus(lon, 0, { lastPositionAt: at, updatedAt: at });
    return { ...f, id };
  };
  const held = ['b1', 'b2', 'b3'].map((id) => vehicle(id, 26.0, '2026-03-03T08:00:00.000Z'));
  const moved = [vehicle('b1', 26.01, t1), vehicle('b2', 26.02, t1), vehicle('b3', 26.03, t2)];
  [1_003n, 1_004n, 1_009n].forEach((position, i) => {
    box.push({
      op: 'upsert',
      layer: 'mobility',
      id: moved[i]!.id as string,
      position,
      feature: moved[i]!,
      base: held[i]!,
      coalescable: true,
    });
  });
  const { message, text } = overTheWire(box.drain('s', 100)!);
  assert.match(text, '"offset":[3,4,9]');
  assert.match(text, `"at":["${t1}",null,"${t2}"]`);
  assert.equal(
    flatChanges(message).map((c) => (c.op === 'move' ? `${c.id}@${c.position} ${c.at}` : c.op)),
    [`b1@1003 ${t1}`, `b2@1004 ${t1}`, `b3@1009 ${t2}`],
  );
  const view = viewHolding(
    '1000',
    held.map((feature) => ({ layer: 'mobility' as const, feature: structuredClone(feature) })),
  );
  view.applyChanges(message);
  assert.equal([...view.features.values()], moved);
  assert.equal([view.gaps, view.duplicates], [[], []]);
});

form('a block that opens with a null time is refused whole, as a gap', () => {
  const block = oneMove('2026-03-03T08:00:02.000Z', 26.02, null, null);
  const nameless: LiveMoves = { ...block, at: [null] };
  assert.not.ok(resolveMoveTimes(nameless));
  const held = bus(26.01, 1);
  const view = viewHolding('10', [{ layer: 'mobility', feature: held }]);
  view.applyChanges({ subscriptionId: 's', after: '10', position: '12', changes: [nameless] });
  assert.is(view.gaps.length, 1);
  assert.equal(view.features.get('mobility:b1'), bus(26.01, 1), 'nothing applied');
});

form("a move at the message's after, or past its position, counts as a duplicate", () => {
  for (const offset of [0, 3]) {
    const view = viewHolding('10', [{ layer: 'mobility', feature: bus(26.01, 1) }]);
    view.applyChanges({
      subscriptionId: 's',
      after: '10',
      position: '12',
      changes: [{ ...oneMove('2026-03-03T08:00:02.000Z', 26.02, null, null), offset: [offset] }],
    });
    assert.is(view.duplicates.length, 1, `offset ${offset}`);
  }
});

form('a move of a vehicle the view does not hold counts as a gap', () => {
  const view = viewHolding('10', []);
  view.applyChanges({
    subscriptionId: 's',
    after: '10',
    position: '12',
    changes: [oneMove('2026-03-03T08:00:02.000Z', 26, null, null)],
  });
  assert.is(view.gaps.length, 1);
});

form('a move out of position order counts as a duplicate', () => {
  const view = viewHolding('10', [{ layer: 'mobility', feature: bus(26.01, 1) }]);
  const moves = oneMove('2026-03-03T08:00:02.000Z', 26.02, null, null);
  view.applyChanges({
    subscriptionId: 's',
    after: '10',
    position: '100',
    changes: [
      {
        ...moves,
        id: ['b1', 'b1'],
        offset: [89, 2],
        x: [26.02, 26.03],
        y: [44, 44],
        at: [...moves.at, ...moves.at],
        v: [null, null],
        h: [null, null],
      },
    ],
  });
  assert.is(view.duplicates.length, 1);
});

form.run();

const live = suite<{ h: Harness }>('moves over /live');

live.before.each(async (ctx) => {
  ctx.h = await startHarness({ coalesceMs: 20 });
});
live.after.each(async (ctx) => {
  await ctx.h.close();
});

live(
  "a console gets moves for reports of vehicles it holds and ends with the twin's features",
  async ({ h }) => {
    await registerVehicle(h, 'bus-1', 26.01, 44.01);
    const head = await registerVehicle(h, 'bus-2', 26.02, 44.02);
    await h.runner.waitForPosition(head, 10_000);
    const c = await openConsole(h);
    try {
      const area = [26.0, 44.0, 26.05, 44.05] as const;
      const ack = await c.subscribe({ city: CITY, layers: ['mobility'], bbox: [...area] });
      if (!ack.ok) throw new Error(ack.detail);
      const view = c.view(ack.subscriptionId);
      await until(() => view.complete && view.position !== undefined, 10_000, 'snapshot');
      const report = (id: string, lon: number, data: Record<string, unknown> = {}) =>
        h.append(`mobility-${CITY}.${id}`, 'VehiclePositionReported', {
          location: point(lon, 44.01),
          ...data,
        });
      const moves = [
        await report('bus-1', 26.011, { speedKmh: 42, headingDeg: 270 }),
        await report('bus-2', 26.021),
      ];
      const status = await setStatus(h, 'bus-1', 'maintenance');
      moves.push(await report('bus-1', 26.012));
      // bus-3 enters the view with its registration: whole, never a move.
      const entered = await registerVehicle(h, 'bus-3', 26.03, 44.03);
      await until(() => view.position === entered, 15_000, 'all delivered');
      const delivered = flatChanges(c.changes);
      const opAt = new Map(delivered.map((d) => [BigInt(d.position), d.op]));
      for (const p of moves) assert.is(opAt.get(p), 'move', `report at ${p}`);
      assert.is(opAt.get(status), 'patch');
      assert.is(opAt.get(entered), 'upsert');
      assert.equal(view.gaps, []);
      assert.equal(view.duplicates, []);
      assert.equal(view.features, twinView(h, ['mobility'], area));
    } finally {
      c.close();
    }
  },
);

live.run();
