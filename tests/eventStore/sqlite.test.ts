import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteEventStore } from '../../src/eventStore/sqlite.js';
import { eventStoreContract } from './contract.js';

eventStoreContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'urban-twin-store-'));
  const path = join(dir, 'events.sqlite');
  return {
    store: createSqliteEventStore(path),
    reopen: async () => createSqliteEventStore(path),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});
