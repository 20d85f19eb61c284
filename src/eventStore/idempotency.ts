import { ConcurrencyError, ConflictError } from '../core/errors.js';
import type { AppendResult, ExpectedRevision, NewEvent } from './port.js';

/** Where an already stored event lives. */
export interface StoredLocation {
  stream: string;
  revision: number;
  position: bigint;
}

/**
 * Idempotency by event id, shared by the adapters. Given the write and where each of its event ids is already
 * stored (undefined: not stored), returns:
 * - undefined when none is stored: the write is new and goes on to the expected-revision check;
 * - the original AppendResult when all are stored in this stream, in this order, at consecutive revisions and
 *   at the place the expected revision names (a retry of an append that already landed): nothing is written;
 * and throws ConflictError when only some are stored, or elsewhere (another stream or order), and
 * ConcurrencyError when they are stored but the expected revision names another place.
 */
export function resolveAlreadyStored(
  stream: string,
  events: NewEvent[],
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
  const inPlace = found.every(
    (f, i) => f !== undefined && f.stream === stream && f.revision === first.revision + i,
  );
  if (!inPlace) {
    const elsewhere = found.find((f) => f !== undefined && f.stream !== stream);
    throw new ConflictError(
      elsewhere
        ? `Event ids for ${stream} are already stored in stream ${elsewhere.stream}`
        : `Event ids for ${stream} are already stored, but not as one run in this order`,
      ids.slice(0, 20).map((id, i) => ({
        field: `events[${i}].id`,
        value: id,
        message: `already stored in ${found[i]!.stream} at revision ${found[i]!.revision}`,
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
