import { ValidationError } from '../core/errors.js';

/**
 * An as-of request on the two time axes of the log.
 * - Transaction time (what the store had recorded): `position` (a global position) or `at` (an ISO time,
 *   meaning every event whose `recordedAt` <= at). At most one of the two.
 * - Valid time (what had happened in the city): `validAt`, keeping only events whose `metadata.occurredAt`
 *   <= validAt.
 * Both together are bitemporal: "what did we know at `at` about the city at `validAt`". An empty AsOf means
 * "now, everything".
 */
export interface AsOf {
  position?: bigint;
  at?: string;
  validAt?: string;
}

/** The as-of request once resolved against the index: the position it stands for, and the valid-time cut. */
export interface ResolvedAsOf {
  /** Last city event included on the transaction-time axis (0n for "before the first event"). */
  position: bigint;
  /** The `at` asked for, when given. */
  at?: string;
  /** The valid-time cut, when given. */
  validAt?: string;
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** Parses an ISO 8601 instant with a zone (Z or ±hh:mm); throws a ValidationError naming the field. */
export function parseInstant(value: unknown, field: string): string {
  if (typeof value !== 'string' || !ISO_INSTANT.test(value) || Number.isNaN(Date.parse(value))) {
    throw new ValidationError(`Invalid ${field}: ${JSON.stringify(value)}`, [
      { field, value, message: 'must be an ISO 8601 date-time with a zone, e.g. 2026-03-01T12:00:00Z' },
    ]);
  }
  return new Date(value).toISOString();
}

/** Parses a global position given as a decimal string or a number; throws a ValidationError naming the field. */
export function parsePosition(value: unknown, field = 'position'): bigint {
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof text !== 'string' || !/^\d{1,19}$/.test(text)) {
    throw new ValidationError(`Invalid ${field}: ${JSON.stringify(value)}`, [
      { field, value, message: 'must be a non-negative integer position' },
    ]);
  }
  return BigInt(text);
}

/**
 * Reads `position`, `at` and `validAt` from query parameters (or any record). Unknown keys are ignored, so the
 * route's other parameters pass through. `position` and `at` name the same axis and exclude each other.
 * @example parseAsOf({ at: '2026-01-01T00:00:00Z', validAt: '2025-06-01T00:00:00Z' })
 */
export function parseAsOf(query: Record<string, unknown>): AsOf {
  const single = (name: string): unknown => {
    const value = query[name];
    if (Array.isArray(value)) {
      throw new ValidationError(`${name} was given more than once`, [
        { field: name, value, message: 'must be given at most once' },
      ]);
    }
    return value === '' ? undefined : value;
  };
  const asOf: AsOf = {};
  const position = single('position');
  const at = single('at');
  const validAt = single('validAt');
  if (position !== undefined && at !== undefined) {
    throw new ValidationError('position and at both set the recorded-time axis; give one of them', [
      { field: 'at', value: at, message: 'cannot be combined with position' },
    ]);
  }
  if (position !== undefined) asOf.position = parsePosition(position);
  if (at !== undefined) asOf.at = parseInstant(at, 'at');
  if (validAt !== undefined) asOf.validAt = parseInstant(validAt, 'validAt');
  return asOf;
}

/** True when the request asks for anything but "now, everything". */
export function isTimeTravel(asOf: AsOf): boolean {
  return asOf.position !== undefined || asOf.at !== undefined || asOf.validAt !== undefined;
}

/** A stable key for caches. */
export function asOfKey(city: string, resolved: ResolvedAsOf): string {
  return `${city}@${resolved.position}${resolved.validAt ? `~${resolved.validAt}` : ''}`;
}
