/**
 * The event store contract on the `esdb` adapter, through the real `@eventstore/db-client` over gRPC:
 * (a) always, against the wire-level test server (a fresh one per test, so each store is isolated);
 * (b) when EVENTSTORE_URL is set, against that real EventStoreDB as well (tests use their own stream names).
 */
import { createEsdbEventStore } from '../../src/eventStore/esdb/esdbEventStore.js';
import { startEsdbTestServer } from '../support/esdbTestServer/index.js';
import { eventStoreContract } from './contract.js';

eventStoreContract('esdb (wire-level test server)', async () => {
  const server = await startEsdbTestServer();
  return {
    store: createEsdbEventStore(server.url),
    reopen: async () => createEsdbEventStore(server.url),
    cleanup: () => server.stop(),
  };
});

const url = process.env.EVENTSTORE_URL;
if (url) {
  eventStoreContract(`esdb (EventStoreDB at ${url})`, async () => ({
    store: createEsdbEventStore(url),
    reopen: async () => createEsdbEventStore(url),
    cleanup: async () => {},
  }));
} else {
  console.log(
    'esdb contract against a real EventStoreDB: skipped (EVENTSTORE_URL is not set; see README "EventStoreDB")',
  );
}
