/**
 * Tamper-evidence verification: `verifyChains` over a SQLite store of sealed events (the append workload's
 * realistic mix, sealed into per-stream hash chains as the write pipeline does), beside a plain readAll pass
 * over the same file in the same run. The difference is the price of recomputing every event's SHA-256 over
 * its RFC 8785 canonical JSON and checking each link; verify is a read plus one hash per event, so the goal
 * is a fifth of the plain read rate.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GENESIS_HASH, sealEvents } from '../../src/audit/hashChain.js';
import { verifyChains } from '../../src/audit/verify.js';
import type { StreamWrite } from '../../src/eventStore/port.js';
import { createSqliteEventStore } from '../../src/eventStore/sqlite.js';
import { type BenchResult, result, timeIt, type Workload } from '../harness.js';
import { generate } from './append.js';

/** Seals every write into its stream's chain, in append order. */
function seal(batches: StreamWrite[][]): StreamWrite[][] {
  const heads = new Map<string, { revision: number; hash: string }>();
  return batches.map((writes) =>
    writes.map((w) => {
      const head = heads.get(w.stream) ?? { revision: -1, hash: GENESIS_HASH };
      const events = sealEvents(w.stream, head.revision + 1, head.hash, w.events);
      const last = events[events.length - 1]!;
      heads.set(w.stream, { revision: head.revision + events.length, hash: String(last.metadata.hash) });
      return { ...w, events };
    }),
  );
}

export const auditVerifyWorkload: Workload = {
  name: 'audit-verify',
  description: 'hash chain verification of every stream vs a plain readAll of the same SQLite file',
  async run({ scale }) {
    const total = Math.max(10_000, Math.round(200_000 * scale));
    const dir = mkdtempSync(join(tmpdir(), 'bench-verify-'));
    try {
      const store = createSqliteEventStore(join(dir, 'events.sqlite'));
      for (const writes of seal(generate(total))) await store.appendMany(writes);
      const read = await timeIt(async () => {
        let n = 0;
        for await (const _ of store.readAll()) n++;
        return n;
      });
      const verify = await timeIt(() => verifyChains(store));
      await store.close();
      if (!verify.value.ok)
        throw new Error(`verify found broken links in a clean store: ${verify.value.broken.length}`);
      const out: BenchResult[] = [
        result({
          workload: 'audit-verify',
          metric: 'verify events/s',
          value: verify.value.eventsChecked / verify.seconds,
          unit: 'events/s',
          baseline: read.value / read.seconds,
          goal: '>= 20% of a plain readAll',
        }),
      ];
      for (const r of out) r.met = r.ratio !== null && r.ratio >= 0.2;
      return out;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
