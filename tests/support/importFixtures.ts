import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedCities } from '../../seeds/seedCities.js';
import { fixedClock } from '../../src/core/clock.js';
import type { EventStore, RecordedEvent } from '../../src/eventStore/port.js';
import { createSqliteEventStore } from '../../src/eventStore/sqlite.js';
import { createWriter, type Writer } from '../../src/write/writer.js';

/** The shared real data, relative to the repository root (tests run from there). */
export const DATA = '../shared/data';

export interface ImportFixture {
  dir: string;
  store: EventStore;
  writer: Writer;
  close(): Promise<void>;
}

/** A real SQLite store in a temp dir with the given cities seeded small (their boundary and districts exist). */
export async function seededSqliteStore(cities: string[]): Promise<ImportFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'twin-import-'));
  const store = createSqliteEventStore(join(dir, 'events.sqlite'));
  const clock = fixedClock('2026-11-01T12:00:00.000Z');
  const writer = createWriter({ store, clock });
  await seedCities({ store, clock, writer, cities, scale: 0.02 });
  return {
    dir,
    store,
    writer,
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every stored event whose stream starts with `prefix` (optionally of one type), in global order. */
export async function storedEvents(
  store: EventStore,
  prefix: string,
  type?: string,
): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of store.readAll({
    filter: { streamPrefixes: [prefix], ...(type ? { eventTypes: [type] } : {}) },
  })) {
    out.push(e);
  }
  return out;
}

/** The CityRegistered data of a seeded city, read back from its stream. */
export async function cityData(store: EventStore, city: string): Promise<Record<string, unknown>> {
  for await (const e of store.readStream(`city-${city}`))
    if (e.type === 'CityRegistered') return e.data as never;
  throw new Error(`no city ${city}`);
}
