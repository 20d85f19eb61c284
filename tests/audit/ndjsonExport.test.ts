import { get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryEventStore } from '../../src/eventStore/memory.js';
import type { EventStore, ReadAllOptions, RecordedEvent } from '../../src/eventStore/port.js';
import { testApp } from '../http/helpers.js';
import { createTestKey } from '../support/auth.js';

/**
 * The NDJSON export streams: while the client does not read, the server stops pulling events from the
 * store (backpressure), so memory stays bounded whatever the range; once the client reads again, every
 * event arrives, once, in order.
 */
const TOTAL = 30_000;

const test = suite('NDJSON export');

test('a paused client holds the store read back, and then receives every event in order', async () => {
  const inner = createMemoryEventStore();
  for (let b = 0; b < TOTAL / 1_000; b++) {
    await inner.appendMany(
      Array.from({ length: 10 }, (_, s) => ({
        stream: `mobility-cluj-napoca.bus-${s}`,
        events: Array.from({ length: 100 }, (_, i) => ({
          id: `00000000-0000-4000-8000-${(b * 1_000 + s * 100 + i).toString(16).padStart(12, '0')}`,
          type: 'VehiclePositionReported',
          data: {
            location: { type: 'Point', coordinates: [23.6, 46.77] },
            speedKmh: i,
            note: 'x'.repeat(200),
          },
          metadata: {
            actor: 'feed',
            source: 'gtfs-rt',
            occurredAt: '2026-03-01T00:00:00Z',
            correlationId: `c-${b}`,
            causationId: null,
          },
        })),
      })),
    );
  }
  let pulled = 0;
  const store: EventStore = {
    ...inner,
    async *readAll(options?: ReadAllOptions) {
      for await (const e of inner.readAll(options) as AsyncIterable<RecordedEvent>) {
        pulled++;
        yield e;
      }
    },
  };
  const key = await createTestKey(inner, 'auditor', ['cluj-napoca']);
  const server: Server = testApp(store, { RATE_LIMIT_PER_MINUTE: '0' }).listen(0);
  const { port } = server.address() as AddressInfo;
  const res = await new Promise<IncomingMessage>((resolve) => {
    get(
      {
        port,
        path: '/api/v1/audit/events?city=cluj-napoca&format=ndjson',
        headers: { Authorization: `Bearer ${key}` },
      },
      resolve,
    );
  });
  assert.is(res.statusCode, 200);
  res.pause();
  // Wait until the server has stopped pulling (its buffers are full), however slow the machine is.
  let last = -1;
  for (let i = 0; i < 200 && pulled !== last; i++) {
    last = pulled;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(
    pulled < TOTAL / 2,
    `the server pulled ${pulled} of ${TOTAL} events while the client read nothing`,
  );

  let text = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    text += chunk;
  });
  res.resume();
  await new Promise((r) => res.on('end', r));
  const lines = text.trim().split('\n');
  assert.is(lines.length, TOTAL);
  const positions = lines.map((l) => BigInt(JSON.parse(l).position));
  assert.ok(positions.every((p, i) => i === 0 || p > positions[i - 1]!));
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await inner.close();
});

test.run();
