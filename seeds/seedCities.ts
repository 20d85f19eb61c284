import type { Clock } from '../src/core/clock.js';
import { cityStream } from '../src/domain/streams.js';
import type { EventStore } from '../src/eventStore/port.js';
import { createWriter, type Writer } from '../src/write/writer.js';
import { DEFAULT_SEED, generateCity, SEEDED_CITY_IDS, type SeedEvent } from './generate.js';

/** The seed loader: appends the generated cities through the write pipeline, once. */

export interface SeedCitiesOptions {
  store: EventStore;
  clock: Clock;
  /** Defaults to a writer over `store` and `clock`. */
  writer?: Writer;
  /** Which cities (default: all three). */
  cities?: readonly string[];
  scale?: number;
  seed?: string;
  /** Events per appended batch (default 1,000). */
  batchSize?: number;
  /** Append even when the city stream exists (ids are deterministic, so stored events are skipped). */
  force?: boolean;
  /** Called after each batch. */
  onProgress?: (progress: { city: string; done: number; total: number }) => void;
}

export interface SeedCityResult {
  city: string;
  /** Events the generator produced. */
  generated: number;
  /** Events appended now (0 when the city was already seeded). */
  appended: number;
  /** True when the city stream existed and seeding was skipped. */
  skipped: boolean;
}

export const SEED_ACTOR = 'system:seed';
export const SEED_SOURCE = 'seed';

/** True when the city's own stream has at least one event. */
export async function cityExists(store: EventStore, city: string): Promise<boolean> {
  for await (const _ of store.readStream(cityStream(city), { maxCount: 1 })) return true;
  return false;
}

/** The generated event as an item of the write pipeline. */
export function toProposedItem(event: SeedEvent) {
  return {
    id: event.id,
    type: event.type,
    ...(event.entityId ? { entityId: event.entityId } : {}),
    data: event.data,
    occurredAt: event.occurredAt,
  };
}

/**
 * Seeds the cities that are not in the store yet (actor `system:seed`, source `seed`). Idempotent twice over:
 * a seeded city is skipped, and the event ids are deterministic so a forced re-run appends nothing.
 * @example await seedCities({ store, clock: systemClock, scale: 1 })
 */
export async function seedCities(options: SeedCitiesOptions): Promise<SeedCityResult[]> {
  const writer = options.writer ?? createWriter({ store: options.store, clock: options.clock });
  const batchSize = options.batchSize ?? 1_000;
  const results: SeedCityResult[] = [];
  for (const city of options.cities ?? SEEDED_CITY_IDS) {
    if (!options.force && (await cityExists(options.store, city))) {
      results.push({ city, generated: 0, appended: 0, skipped: true });
      continue;
    }
    const events = generateCity(city, { scale: options.scale ?? 1, seed: options.seed ?? DEFAULT_SEED });
    let appended = 0;
    for (let start = 0; start < events.length; start += batchSize) {
      const batch = events.slice(start, start + batchSize).map(toProposedItem);
      const result = await writer.appendBatch(city, batch, {
        actor: SEED_ACTOR,
        source: SEED_SOURCE,
        correlationId: `seed:${city}:${start / batchSize}`,
        reason: 'seeded demo city',
      });
      appended += result.appended;
      options.onProgress?.({ city, done: Math.min(start + batchSize, events.length), total: events.length });
    }
    results.push({ city, generated: events.length, appended, skipped: false });
  }
  return results;
}
