/**
 * A projection runner in its own process, for the restart test: follows the SQLite store in argv[2] with file
 * snapshots in argv[3] every argv[4] events, and reports on stdout (`caughtUp`, `snapshot <position>`,
 * `position <n>`) until it is killed.
 */
import { createSqliteEventStore } from '../../src/eventStore/sqlite.js';
import { createProjectionRunner } from '../../src/twin/projectionRunner.js';
import { createFileSnapshotStore, type SnapshotStore } from '../../src/twin/snapshotStore.js';

const [dbPath, snapshotDir, every] = process.argv.slice(2);
const store = createSqliteEventStore(dbPath!);
const files = createFileSnapshotStore(snapshotDir!);
const snapshots: SnapshotStore = {
  load: () => files.load(),
  async save(s) {
    await files.save(s);
    process.stdout.write(`snapshot ${s.position}\n`);
  },
};
const runner = createProjectionRunner({
  store,
  snapshots,
  snapshotEveryEvents: Number(every),
  snapshotEveryMs: 60_000,
});
runner.onChange((batch) => {
  if (batch.position % 25n === 0n) process.stdout.write(`position ${batch.position}\n`);
});
await runner.start();
await runner.waitUntilCaughtUp(120_000);
process.stdout.write('caughtUp\n');
setInterval(() => {}, 1_000);
