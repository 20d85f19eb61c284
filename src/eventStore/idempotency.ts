import { ConcurrencyError, ConflictError } from '../core/errors.js';
import type { AppendResult, ExpectedRevision } from './port.js';
import { assertExpectedRevision } from './writeChecks.js';

/** Where an already stored event of the write's stream lives. */
export interface StoredLocation {
  id: string;
  revision: number;
  position: bigint;
}

/**
 * What an adapter must look up to tell a retry from a new write (EventStoreDB's approach, which needs no
 * global index of event ids):
 * - `none`: the expected revision matches (or the write is empty), so the write is new by definition;
 * - `revisions`: a numeric or no_stream expectation that does not match; a retry of an append that landed
 *   finds its own ids at the revisions right after the expected one, starting at `from`;
 * - `ids`: `any` / `stream_exists`; the ids may be anywhere in the stream.
 */
export type IdempotencyProbe = { kind: 'none' } | { kind: 'revisions'; from: number } | { kind: 'ids' };

export function idempotencyProbe(
  expected: ExpectedRevision,
  current: number | undefined,
  eventCount: number,
): IdempotencyProbe {
  if (eventCount === 0 || current === undefined) return { kind: 'none' };
  if (expected === 'any' || expected === 'stream_exists') return { kind: 'ids' };
  const expectedLast = expected === 'no_stream' ? -1 : expected;
  if (expectedLast === current || expectedLast > current) return { kind: 'none' };
  return { kind: 'revisions', from: expectedLast + 1 };
}

/**
 * Idempotency by event id, shared by the adapters. Given the write and where each of its event ids is already
 * stored (undefined: not stored), returns:
 * - undefined when none is stored: the write is new and goes on to the expected-revision check;
 * - the original AppendResult when all are stored in this stream, in this order, at consecutive revisions and
 *   at the place the expected revision names (a retry of an append that already landed): nothing is written;
 * and throws ConflictError when only some are stored, or in another order or place, and
 * ConcurrencyError when they are stored but the expected revision names another place.
 */
export function resolveAlreadyStored(
  stream: string,
  events: ReadonlyArray<{ id: string }>,
  expected: ExpectedRevision,
  found: Array<StoredLocation | undefined>,
  currentRevision: number | undefined,
): AppendResult | undefined {
  const storedCount = found.reduce((n, f) => (f ? n + 1 : n), 0);
  if (storedCount === 0) return undefined;
  const ids = events.map((e) => e.id);
  if (storedCount < events.length) {
    const stored = ids.filter((_, i) => found[i]);
    throw new ConflictError(
      `Partial retry: ${storedCount} of ${events.length} event ids for ${stream} are already stored (${stored.slice(0, 3).join(', ')}${stored.length > 3 ? ', ...' : ''}); resend the original batch unchanged or use new ids`,
      stored.slice(0, 20).map((id) => ({
        field: `events[${ids.indexOf(id)}].id`,
        value: id,
        message: 'already stored',
        index: ids.indexOf(id),
      })),
    );
  }
  const first = found[0]!;
  const inPlace = found.every((f, i) => f !== undefined && f.revision === first.revision + i);
  if (!inPlace) {
    throw new ConflictError(
      `Event ids for ${stream} are already stored, but not as one run in this order`,
      ids.slice(0, 20).map((id, i) => ({
        field: `events[${i}].id`,
        value: id,
        message: `already stored at revision ${found[i]!.revision}`,
        index: i,
      })),
    );
  }
  // A retry must name the same place the original append did; otherwise it is a real conflict.
  const expectedFirst =
    typeof expected === 'number' ? expected + 1 : expected === 'no_stream' ? 0 : first.revision;
  if (first.revision !== expectedFirst) {
    throw new ConcurrencyError(
      stream,
      String(expected),
      currentRevision === undefined ? 'no_stream' : String(currentRevision),
    );
  }
  const last = found[found.length - 1]!;
  return { stream, nextExpectedRevision: last.revision, position: last.position };
}

/**
 * What a transactional adapter (SQLite, memory) checks before it writes a stream's events, in this order: a
 * retry of events already stored answers their original result (resolveAlreadyStored); otherwise the expected
 * revision must hold (ConcurrencyError). `lookUp` finds where the probe's ids are stored.
 * Returns the original result, or undefined when the events are to be written.
 */
export function checkBeforeWrite(
  stream: string,
  events: ReadonlyArray<{ id: string }>,
  expected: ExpectedRevision,
  current: number | undefined,
  lookUp: (probe: IdempotencyProbe) => Array<StoredLocation | undefined>,
): AppendResult | undefined {
  const found = lookUp(idempotencyProbe(expected, current, events.length));
  const original = resolveAlreadyStored(stream, events, expected, found, current);
  if (original) return original;
  assertExpectedRevision(stream, expected, current);
  return undefined;
}
