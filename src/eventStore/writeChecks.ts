import { ConcurrencyError, ValidationError } from '../core/errors.js';
import { UUID_PATTERN } from '../core/ids.js';
import type { ExpectedRevision, NewEvent, StreamWrite } from './port.js';

/** Throws ConcurrencyError unless a stream whose last revision is `current` (undefined: no stream) fits `expected`. */
export function assertExpectedRevision(
  stream: string,
  expected: ExpectedRevision,
  current: number | undefined,
): void {
  const ok =
    expected === 'any' ||
    (expected === 'no_stream' && current === undefined) ||
    (expected === 'stream_exists' && current !== undefined) ||
    (typeof expected === 'number' && current === expected);
  if (!ok)
    throw new ConcurrencyError(
      stream,
      String(expected),
      current === undefined ? 'no_stream' : String(current),
    );
}

function checkExpectedRevision(value: unknown, field: string): ExpectedRevision {
  if (value === undefined) return 'any';
  if (value === 'any' || value === 'no_stream' || value === 'stream_exists') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  throw new ValidationError(`Invalid expected revision: ${JSON.stringify(value)}`, [
    { field, value, message: "must be 'any', 'no_stream', 'stream_exists' or a revision >= 0" },
  ]);
}

/**
 * Validates a batch of writes before anything is stored, so a bad batch appends nothing: stream names, event
 * ids (UUIDs, unique within the whole call), types, JSON-serialisable data. Returns the writes with their
 * expected revision resolved.
 */
export function validateWrites(writes: StreamWrite[]): Array<Required<StreamWrite>> {
  if (!Array.isArray(writes)) {
    throw new ValidationError('appendMany takes a list of writes', [
      { field: 'writes', value: typeof writes, message: 'must be an array' },
    ]);
  }
  const seen = new Set<string>();
  return writes.map((write, w) => {
    const prefix = writes.length === 1 ? '' : `writes[${w}].`;
    if (typeof write.stream !== 'string' || write.stream.length === 0 || write.stream.length > 500) {
      throw new ValidationError(`Invalid stream name: ${JSON.stringify(write.stream)}`, [
        { field: `${prefix}stream`, value: write.stream, message: 'must be a string of 1..500 characters' },
      ]);
    }
    if (write.stream.startsWith('$')) {
      throw new ValidationError(`Stream names starting with $ are reserved: ${write.stream}`, [
        { field: `${prefix}stream`, value: write.stream, message: 'must not start with $' },
      ]);
    }
    if (!Array.isArray(write.events)) {
      throw new ValidationError(`Events for ${write.stream} must be a list`, [
        { field: `${prefix}events`, value: typeof write.events, message: 'must be an array' },
      ]);
    }
    write.events.forEach((event: NewEvent, i) => {
      const field = `${prefix}events[${i}]`;
      if (typeof event?.id !== 'string' || !UUID_PATTERN.test(event.id)) {
        throw new ValidationError(`Event id is not a UUID: ${JSON.stringify(event?.id)}`, [
          { field: `${field}.id`, value: event?.id, message: 'must be a UUID', index: i },
        ]);
      }
      const id = event.id.toLowerCase();
      if (seen.has(id)) {
        throw new ValidationError(`Event id ${event.id} appears twice in one append`, [
          { field: `${field}.id`, value: event.id, message: 'must be unique within the append', index: i },
        ]);
      }
      seen.add(id);
      if (typeof event.type !== 'string' || event.type.length === 0 || event.type.length > 200) {
        throw new ValidationError(`Invalid event type: ${JSON.stringify(event.type)}`, [
          {
            field: `${field}.type`,
            value: event.type,
            message: 'must be a string of 1..200 characters',
            index: i,
          },
        ]);
      }
      if (event.dataText !== undefined && typeof event.dataText !== 'string') {
        throw new ValidationError("An event's dataText must be the JSON text of its data", [
          { field: `${field}.dataText`, value: typeof event.dataText, message: 'must be a string', index: i },
        ]);
      }
    });
    return {
      stream: write.stream,
      events: write.events,
      expectedRevision: checkExpectedRevision(write.expectedRevision, `${prefix}expectedRevision`),
    };
  });
}

/** JSON text of an event's data or metadata; throws ValidationError naming the field when it is not JSON. */
export function toJsonText(value: unknown, field: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value === undefined ? null : value);
  } catch (error) {
    throw new ValidationError(`${field} is not serialisable as JSON: ${(error as Error).message}`, [
      { field, message: 'must be JSON-serialisable' },
    ]);
  }
  if (text === undefined) {
    throw new ValidationError(`${field} is not serialisable as JSON`, [
      { field, message: 'must be JSON-serialisable' },
    ]);
  }
  return text;
}
