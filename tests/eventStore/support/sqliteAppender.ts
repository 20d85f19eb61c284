/**
 * A separate process that appends to a SQLite event store file, for the durability (kill -9) and
 * cross-process subscription tests. Usage: sqliteAppender.ts <file> <appends> <eventsPerAppend> <stream>
 * Prints `ready` once the store is open, then `ack <id> <id> ...` after each acknowledged append, then `done`.
 */
import { randomUUID } from 'node:crypto';
import { createSqliteEventStore } from '../../../src/eventStore/sqlite.js';

const [path, appends, perAppend, stream] = process.argv.slice(2);
if (!path || !appends || !perAppend || !stream) {
  console.error('usage: sqliteAppender.ts <file> <appends> <eventsPerAppend> <stream>');
  process.exit(2);
}
const store = createSqliteEventStore(path);
process.stdout.write('ready\n');
for (let i = 0; i < Number(appends); i++) {
  const events = Array.from({ length: Number(perAppend) }, (_, k) => ({
    id: randomUUID(),
    type: 'VehiclePositionReported',
    data: { n: i * Number(perAppend) + k, lon: 26.1025, lat: 44.4268 },
    metadata: { actor: 'appender', source: 'tests' },
  }));
  await store.append(stream, events);
  // The ack is written only after append resolved, so every id printed must survive a kill.
  process.stdout.write(`ack ${events.map((e) => e.id).join(' ')}\n`);
}
await store.close();
process.stdout.write('done\n');
