/**
 * The wire-level EventStoreDB test server, spoken to with the bare `@eventstore/db-client` (no adapter), so
 * its EventStoreDB semantics are pinned where the adapter hides them: stream-not-found, exclusive backward
 * $all reads, checkpoints of filtered subscriptions, the commit check's idempotency and refusals.
 */
import { randomUUID } from 'node:crypto';
import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  eventTypeFilter,
  FORWARDS,
  jsonEvent,
  type Position,
  START,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '@eventstore/db-client';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type EsdbTestServer, startEsdbTestServer } from '../support/esdbTestServer/index.js';

interface Ctx {
  server: EsdbTestServer;
  client: EventStoreDBClient;
}

const test = suite<Ctx>('EventStoreDB test server, through the bare client');
test.before.each(async (ctx) => {
  ctx.server = await startEsdbTestServer();
  ctx.client = EventStoreDBClient.connectionString(ctx.server.url);
});
test.after.each(async (ctx) => {
  await ctx.client.dispose();
  await ctx.server.stop();
});

const event = (type = 'Happened') => jsonEvent({ id: randomUUID(), type, data: { at: type } });

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return assert.unreachable('expected a rejection');
}

test('answers a read of a missing stream with stream-not-found', async ({ client }) => {
  const error = await rejection(
    (async () => {
      for await (const _ of client.readStream('nowhere-1')) {
        // nothing to read
      }
    })(),
  );
  assert.instance(error, StreamNotFoundError);
});

test('starts a fresh log with system events, as a new database does', async ({ client }) => {
  const types: string[] = [];
  for await (const resolved of client.readAll({ fromPosition: START, direction: FORWARDS })) {
    types.push(resolved.event!.type);
  }
  assert.ok(types.length > 0 && types.every((t) => t.startsWith('$')));
});

test('reads $all backwards from a position without the event at it, forwards with it', async ({ client }) => {
  await client.appendToStream('s-1', [event('A'), event('B'), event('C')]);
  const positions: Position[] = [];
  for await (const r of client.readStream('s-1')) positions.push(r.event!.position!);
  const middle = positions[1]!;
  const back: string[] = [];
  for await (const r of client.readAll({ fromPosition: middle, direction: BACKWARDS, maxCount: 1 })) {
    back.push(r.event!.type);
  }
  assert.equal(back, ['A']);
  const fwd: string[] = [];
  for await (const r of client.readAll({ fromPosition: middle, direction: FORWARDS, maxCount: 1 })) {
    fwd.push(r.event!.type);
  }
  assert.equal(fwd, ['B']);
});

test('acknowledges a re-append of the same ids at the same expected revision without writing', async ({
  client,
}) => {
  const batch = [event(), event()];
  const first = await client.appendToStream('s-2', batch, { expectedRevision: 'no_stream' });
  const again = await client.appendToStream('s-2', batch, { expectedRevision: 'no_stream' });
  assert.is(again.nextExpectedRevision, first.nextExpectedRevision);
  const anyAgain = await client.appendToStream('s-2', batch, { expectedRevision: 'any' });
  assert.is(anyAgain.nextExpectedRevision, 1n);
  let count = 0;
  for await (const _ of client.readStream('s-2')) count++;
  assert.is(count, 2);
});

test('refuses a retry whose ids match only in part as a wrong expected version', async ({ client }) => {
  const batch = [event(), event()];
  await client.appendToStream('s-3', batch, { expectedRevision: 'no_stream' });
  for (const expectedRevision of ['no_stream', 'any'] as const) {
    const error = await rejection(client.appendToStream('s-3', [batch[0]!, event()], { expectedRevision }));
    assert.instance(error, WrongExpectedVersionError);
    assert.is((error as WrongExpectedVersionError).actualVersion, 1n);
  }
  const ahead = await rejection(client.appendToStream('s-3', [event()], { expectedRevision: 7n }));
  assert.instance(ahead, WrongExpectedVersionError);
  assert.is((ahead as WrongExpectedVersionError).expectedVersion, 7n);
});

test('confirms a filtered subscription, reports checkpoints while scanning, and marks caught-up once', async ({
  client,
}) => {
  for (let i = 0; i < 5; i++) {
    await client.appendToStream(`s-${i}`, [
      ...Array.from({ length: 9 }, () => event('Noise')),
      event('Signal'),
    ]);
  }
  const checkpoints: bigint[] = [];
  const subscription = client.subscribeToAll({
    fromPosition: START,
    filter: eventTypeFilter({
      prefixes: ['Signal'],
      maxSearchWindow: 4,
      checkpointInterval: 2,
      checkpointReached: (_sub, position) => {
        checkpoints.push(position.commit);
      },
    }),
  });
  let caughtUp = 0;
  let confirmed = 0;
  subscription.on('caughtUp', () => caughtUp++);
  subscription.on('confirmation', () => confirmed++);
  const signals: string[] = [];
  for await (const resolved of subscription) {
    signals.push(resolved.event!.type);
    if (signals.length === 5) break;
  }
  await subscription.unsubscribe();
  assert.equal(signals, ['Signal', 'Signal', 'Signal', 'Signal', 'Signal']);
  assert.is(confirmed, 1);
  assert.ok(caughtUp <= 1);
  // 52 records scanned (2 system + 50), a checkpoint every 4 x 2 = 8: at least 5 by the last signal.
  assert.ok(checkpoints.length >= 5, `checkpoints: ${checkpoints.length}`);
  assert.equal(
    checkpoints,
    [...checkpoints].sort((a, b) => (a < b ? -1 : 1)),
  );
});

test('subscribes from the end: only events appended after the subscription arrives', async ({ client }) => {
  await client.appendToStream('s-9', [event('Old')]);
  const subscription = client.subscribeToAll({ fromPosition: END });
  const caughtUp = new Promise<void>((resolve) => subscription.once('caughtUp', () => resolve()));
  await caughtUp;
  await client.appendToStream('s-9', [event('New')]);
  for await (const resolved of subscription) {
    assert.is(resolved.event!.type, 'New');
    break;
  }
  await subscription.unsubscribe();
});

test.run();
