import * as parser from 'socket.io-parser';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ChangesMessage, SnapshotMessage } from '../../src/realtime/contract.js';
import { createOutbox } from '../../src/realtime/outbox.js';
import { liveParser } from '../../src/realtime/wireParser.js';
import type { TwinFeature } from '../../src/twin/changes.js';
import { flatChanges } from '../support/flatChanges.js';

const feature = (id: string, lon: number): TwinFeature => ({
  type: 'Feature',
  id,
  geometry: { type: 'Point', coordinates: [lon, 44] },
  properties: { kind: 'bus', name: `"quoted" ${id}` },
});

const outbox = suite('outbox');

outbox('coalesces an entity to its latest report, moved behind what came in between', () => {
  const box = createOutbox(10n, 100);
  box.push({
    op: 'upsert',
    layer: 'mobility',
    id: 'a',
    position: 11n,
    feature: feature('a', 1),
    coalescable: true,
  });
  box.push({
    op: 'upsert',
    layer: 'mobility',
    id: 'b',
    position: 12n,
    feature: feature('b', 1),
    coalescable: true,
  });
  box.push({
    op: 'upsert',
    layer: 'mobility',
    id: 'a',
    position: 13n,
    feature: feature('a', 2),
    coalescable: true,
  });
  const m = box.drain('s', 100)!;
  assert.is(m.after, '10');
  assert.is(m.position, '13');
  assert.equal(
    flatChanges(m).map((c) => `${c.id}@${c.position}`),
    ['b@12', 'a@13'],
  );
});

outbox('keeps every change that may not be coalesced and reports it as urgent', () => {
  const box = createOutbox(0n, 100);
  box.push({
    op: 'upsert',
    layer: 'mobility',
    id: 'a',
    position: 1n,
    feature: feature('a', 1),
    coalescable: false,
  });
  box.push({
    op: 'upsert',
    layer: 'mobility',
    id: 'a',
    position: 2n,
    feature: feature('a', 1),
    coalescable: false,
  });
  assert.ok(box.urgent);
  assert.is(box.drain('s', 100)!.changes.length, 2);
  assert.not.ok(box.urgent);
});

outbox('splits a long queue into messages whose ranges join without a gap', () => {
  const box = createOutbox(0n, 100);
  for (let i = 1; i <= 5; i++) {
    box.push({ op: 'remove', layer: 'mobility', id: `e${i}`, position: BigInt(i), coalescable: false });
  }
  box.advance(7n);
  const first = box.drain('s', 2)!;
  const second = box.drain('s', 2)!;
  const third = box.drain('s', 2)!;
  assert.equal(
    [first, second, third].map((m) => `${m.after}-${m.position}`),
    ['0-2', '2-4', '4-7'],
  );
  assert.is(box.drain('s', 2), undefined);
});

outbox('empties itself and says so when the bound is passed', () => {
  const box = createOutbox(0n, 3);
  let ok = true;
  for (let i = 1; i <= 4; i++) {
    ok = box.push({ op: 'remove', layer: 'mobility', id: `e${i}`, position: BigInt(i), coalescable: false });
  }
  assert.not.ok(ok);
  assert.is(box.size, 0);
});

outbox.run();

const wire = suite('live wire parser');

wire('encodes a changes message that the standard decoder reads back equal', () => {
  const message: ChangesMessage = {
    subscriptionId: 's1',
    after: '4',
    position: '9',
    changes: [
      { op: 'upsert', layer: 'mobility', id: 'a', position: '5', feature: feature('a', 26.1) },
      { op: 'remove', layer: 'mobility', id: 'b"x', position: '9' },
    ],
  };
  const [encoded] = new liveParser.Encoder().encode({
    type: parser.PacketType.EVENT,
    nsp: '/live',
    id: 3,
    data: ['changes', message],
  });
  const decoder = new parser.Decoder();
  let decoded: unknown;
  decoder.on('decoded', (packet: unknown) => {
    decoded = packet;
  });
  decoder.add(encoded as string);
  assert.equal(decoded, { type: parser.PacketType.EVENT, nsp: '/live', id: 3, data: ['changes', message] });
});

wire('encodes a snapshot chunk that the standard decoder reads back equal', () => {
  const message: SnapshotMessage = {
    subscriptionId: 's1',
    position: '12',
    reason: 'resync',
    cause: 'slow-consumer',
    chunk: 0,
    chunks: 1,
    features: [{ layer: 'mobility', feature: feature('a', 26.2) }],
  };
  const [encoded] = new liveParser.Encoder().encode({
    type: parser.PacketType.EVENT,
    nsp: '/live',
    id: 4,
    data: ['snapshot', message],
  });
  const decoder = new parser.Decoder();
  let decoded: unknown;
  decoder.on('decoded', (packet: unknown) => {
    decoded = packet;
  });
  decoder.add(encoded as string);
  assert.equal(decoded, { type: parser.PacketType.EVENT, nsp: '/live', id: 4, data: ['snapshot', message] });
});

wire.run();
