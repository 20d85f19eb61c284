import { generateCity, type SeedEvent } from '../../seeds/generate.js';
import { sealEvents } from '../../src/audit/hashChain.js';
import type { fixedClock } from '../../src/core/clock.js';
import type { EventStore, NewEvent } from '../../src/eventStore/port.js';

/** The clock a seeded history is recorded with: one minute per batch from this instant. */
export const HISTORY_START = '2026-02-01T08:00:00.000Z';

/**
 * Appends a seeded city to `store` in batches of `batchSize`, moving `clock` one minute per batch so the
 * history has a recorded-time axis to travel on. Events are sealed per stream like the write pipeline does.
 * Returns the events in append order.
 */
export async function appendSeededCity(
  store: EventStore,
  clock: ReturnType<typeof fixedClock>,
  city: string,
  options: { scale?: number; batchSize?: number } = {},
): Promise<SeedEvent[]> {
  const events = generateCity(city, { scale: options.scale ?? 0.2 });
  const batchSize = options.batchSize ?? 50;
  const heads = new Map<string, { revision: number; hash: string }>();
  for (let i = 0; i < events.length; i += batchSize) {
    await appendSeedBatch(store, events.slice(i, i + batchSize), heads);
    clock.advance(60_000);
  }
  return events;
}

/** Appends seed events (grouped by stream, in order), sealed, keeping the chain heads in `heads`. */
export async function appendSeedBatch(
  store: EventStore,
  batch: SeedEvent[],
  heads: Map<string, { revision: number; hash: string }> = new Map(),
  metadata: Record<string, unknown> = {},
): Promise<void> {
  for (const e of batch) {
    const head = heads.get(e.stream) ?? (await streamHead(store, e.stream));
    const event: NewEvent = {
      id: e.id,
      type: e.type,
      data: e.data,
      metadata: {
        actor: 'seed',
        source: 'test-seed',
        occurredAt: e.occurredAt,
        correlationId: 'seed',
        causationId: null,
        ...metadata,
      },
    };
    const [sealed] = sealEvents(e.stream, head ? head.revision + 1 : 0, head?.hash ?? '0'.repeat(64), [
      event,
    ]);
    await store.append(e.stream, [sealed!], { expectedRevision: head ? head.revision : 'no_stream' });
    heads.set(e.stream, { revision: head ? head.revision + 1 : 0, hash: sealed!.metadata.hash as string });
  }
}

async function streamHead(
  store: EventStore,
  stream: string,
): Promise<{ revision: number; hash: string } | undefined> {
  for await (const e of store.readStream(stream, { direction: 'backwards', maxCount: 1 })) {
    return { revision: e.revision, hash: String(e.metadata.hash) };
  }
  return undefined;
}
