import { createMemoryEventStore } from '../../src/eventStore/memory.js';
import { eventStoreContract } from './contract.js';

eventStoreContract('memory', async () => ({
  store: createMemoryEventStore(),
  cleanup: async () => {},
}));
