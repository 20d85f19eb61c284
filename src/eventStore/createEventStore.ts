import { join } from 'node:path';
import { ValidationError } from '../core/errors.js';
import { createMemoryEventStore } from './memory.js';
import type { EventStore } from './port.js';
import { createSqliteEventStore, type SqliteEventStoreOptions } from './sqlite.js';

export interface CreateEventStoreOptions {
  kind: 'sqlite' | 'memory' | 'esdb';
  /** Directory of the SQLite file when `sqlitePath` is not given (`<dataDir>/events.sqlite`). Default ./data. */
  dataDir?: string;
  sqlitePath?: string;
  /** See SqliteEventStoreOptions.synchronous; default `normal`. */
  sqliteSynchronous?: SqliteEventStoreOptions['synchronous'];
  /** See SqliteEventStoreOptions.writerThread; default false. */
  sqliteWriterThread?: boolean;
  /** EventStoreDB connection string, required for `esdb`. */
  eventstoreUrl?: string;
}

/** The SQLite file a store of these options uses. */
export function sqlitePathOf(options: Pick<CreateEventStoreOptions, 'dataDir' | 'sqlitePath'>): string {
  return options.sqlitePath ?? join(options.dataDir ?? './data', 'events.sqlite');
}

/**
 * Opens the configured adapter. The EventStoreDB client is loaded only when it is used.
 * @example const store = await createEventStore({ kind: 'sqlite', dataDir: config.DATA_DIR });
 */
export async function createEventStore(options: CreateEventStoreOptions): Promise<EventStore> {
  switch (options.kind) {
    case 'memory':
      return createMemoryEventStore();
    case 'sqlite': {
      const sqliteOptions: SqliteEventStoreOptions = {};
      if (options.sqliteSynchronous) sqliteOptions.synchronous = options.sqliteSynchronous;
      if (options.sqliteWriterThread) sqliteOptions.writerThread = true;
      return createSqliteEventStore(sqlitePathOf(options), sqliteOptions);
    }
    case 'esdb': {
      if (!options.eventstoreUrl) {
        throw new ValidationError('EventStoreDB needs a connection string', [
          {
            field: 'EVENTSTORE_URL',
            value: options.eventstoreUrl,
            message: 'is required when EVENT_STORE=esdb',
          },
        ]);
      }
      const { createEsdbEventStore } = await import('./esdb/esdbEventStore.js');
      return createEsdbEventStore(options.eventstoreUrl);
    }
    default:
      throw new ValidationError(`Unknown event store kind: ${String((options as { kind: unknown }).kind)}`, [
        {
          field: 'EVENT_STORE',
          value: (options as { kind: unknown }).kind,
          message: "must be 'sqlite', 'memory' or 'esdb'",
        },
      ]);
  }
}
