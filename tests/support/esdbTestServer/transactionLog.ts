/**
 * The in-memory transaction log behind the EventStoreDB test server: one ordered list of records ($all),
 * an index per stream, and EventStoreDB's write rules (expected revision and idempotency checks).
 *
 * The rules follow the server's commit check (EventStore.Core `IndexWriter.CheckCommit`, the logic behind
 * https://developers.eventstore.com/clients/grpc/appending-events.html#idempotence):
 * - `any`: if every proposed id is in the recent-ids cache for this stream, the write is idempotent (nothing
 *   written, the original revisions answered); if only a leading part is, it is "corrupted idempotency",
 *   answered as wrong expected version; if the first id is unknown, the events are appended (again).
 * - `no_stream` is expected revision -1; `n`: when n < current, the proposed ids are compared with the
 *   stored events at n+1, n+2, ...: all equal is idempotent, a mismatch at the first is a wrong expected
 *   version (and so is a mismatch later: corrupted idempotency); n > current is a wrong expected version.
 * - `stream_exists`: wrong expected version when the stream does not exist, otherwise as `any`.
 * The real server's id cache is bounded (so `any` idempotency holds only for recent writes); this double keeps
 * every id, which is the best case a test can rely on. It is documented as such in the README.
 */

import { randomUUID } from 'node:crypto';

export type Expected =
  | { kind: 'any' }
  | { kind: 'no_stream' }
  | { kind: 'stream_exists' }
  | { kind: 'revision'; revision: number };

export interface ProposedEvent {
  /** Lower-case UUID text (EventStoreDB stores ids as GUIDs, so the case a client sends is not kept). */
  id: string;
  type: string;
  contentType: string;
  data: Uint8Array;
  customMetadata: Uint8Array;
}

export interface LogRecord extends ProposedEvent {
  stream: string;
  /** 0-based event number in its stream. */
  revision: number;
  /** Log position; commit and prepare positions are equal for events not written in an explicit transaction. */
  position: bigint;
  /** .NET ticks (100 ns) since the Unix epoch, as the server sends `created`. */
  createdTicks: bigint;
}

export type WriteOutcome =
  | { ok: true; currentRevision: number | undefined; position: bigint | undefined; idempotent: boolean }
  | { ok: false; currentRevision: number | undefined };

/** Bytes a record header takes in the log besides its payload, so positions grow like byte offsets. */
const RECORD_OVERHEAD = 120;

export class TransactionLog {
  readonly records: LogRecord[] = [];
  private readonly streams = new Map<string, LogRecord[]>();
  private readonly recentIds = new Map<string, LogRecord>();
  private nextPosition = 0n;
  private readonly waiters = new Set<() => void>();

  constructor() {
    // A fresh EventStoreDB database is not empty: the first records of $all are system events. Adapters must
    // skip them, so the double starts the same way.
    this.write('$projections-$all', { kind: 'any' }, [systemEvent('$ProjectionsInitialized')]);
    this.write('$users', { kind: 'any' }, [systemEvent('$UserCreated')]);
  }

  lastRevision(stream: string): number | undefined {
    const events = this.streams.get(stream);
    return events && events.length > 0 ? events.length - 1 : undefined;
  }

  streamEvents(stream: string): LogRecord[] | undefined {
    return this.streams.get(stream);
  }

  /** Index in `records` of the first record at or after `position`. */
  indexAtOrAfter(position: bigint): number {
    let lo = 0;
    let hi = this.records.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.records[mid]!.position < position) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Resolves once the log holds more than `count` records, or when `signal` aborts. */
  waitForMore(count: number, signal: AbortSignal): Promise<void> {
    if (this.records.length > count || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Applies EventStoreDB's commit check, then appends. See the file comment for the rules. */
  write(stream: string, expected: Expected, proposed: ProposedEvent[]): WriteOutcome {
    const current = this.lastRevision(stream);
    const cur = current ?? -1;
    const refused: WriteOutcome = { ok: false, currentRevision: current };
    let expectedNumber: number | 'any';
    switch (expected.kind) {
      case 'any':
        expectedNumber = 'any';
        break;
      case 'stream_exists':
        if (current === undefined) return refused;
        expectedNumber = 'any';
        break;
      case 'no_stream':
        expectedNumber = -1;
        break;
      case 'revision':
        expectedNumber = expected.revision;
        break;
    }
    if (proposed.length === 0) {
      // An empty write only checks the expected revision.
      if (expectedNumber !== 'any' && expectedNumber !== cur) return refused;
      return { ok: true, currentRevision: current, position: undefined, idempotent: false };
    }
    if (expectedNumber === 'any') {
      const known = proposed.map((p) => this.recentIds.get(p.id));
      const first = known[0];
      if (first !== undefined && first.stream === stream) {
        const allKnown = known.every((k) => k !== undefined && k.stream === stream);
        if (!allKnown) return refused; // corrupted idempotency
        const last = known[known.length - 1]!;
        return { ok: true, currentRevision: last.revision, position: last.position, idempotent: true };
      }
    } else if (expectedNumber < cur) {
      const events = this.streams.get(stream)!;
      for (let i = 0; i < proposed.length; i++) {
        const stored = events[expectedNumber + 1 + i];
        // A mismatch on the first event is a plain wrong expected version, later it is corrupted idempotency;
        // both are answered as wrong expected version.
        if (stored === undefined || stored.id !== proposed[i]!.id) return refused;
      }
      const last = events[expectedNumber + proposed.length]!;
      return { ok: true, currentRevision: last.revision, position: last.position, idempotent: true };
    } else if (expectedNumber > cur) {
      return refused;
    }
    return this.commit(stream, proposed);
  }

  private commit(stream: string, proposed: ProposedEvent[]): WriteOutcome {
    let events = this.streams.get(stream);
    if (!events) {
      events = [];
      this.streams.set(stream, events);
    }
    const createdTicks = BigInt(Date.now()) * 10_000n;
    let last: LogRecord | undefined;
    for (const p of proposed) {
      const record: LogRecord = {
        ...p,
        stream,
        revision: events.length,
        position: this.nextPosition,
        createdTicks,
      };
      this.nextPosition += BigInt(
        RECORD_OVERHEAD + stream.length + p.type.length + p.data.length + p.customMetadata.length,
      );
      events.push(record);
      this.records.push(record);
      this.recentIds.set(p.id, record);
      last = record;
    }
    for (const wake of [...this.waiters]) wake();
    return { ok: true, currentRevision: last!.revision, position: last!.position, idempotent: false };
  }
}

function systemEvent(type: string): ProposedEvent {
  return {
    id: randomUUID(),
    type,
    contentType: 'application/json',
    data: Buffer.from('{}'),
    customMetadata: new Uint8Array(),
  };
}
