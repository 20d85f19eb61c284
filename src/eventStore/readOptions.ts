import { ValidationError } from '../core/errors.js';
import type { ReadAllOptions, ReadStreamOptions, SubscribeOptions } from './port.js';

/** Larger than any position or revision an adapter will hand out; stands for 'end'. */
export const END_POSITION = (1n << 63n) - 1n;
export const END_REVISION = Number.MAX_SAFE_INTEGER;

function direction(value: unknown): boolean {
  if (value === undefined || value === 'forwards') return true;
  if (value === 'backwards') return false;
  throw new ValidationError(`Invalid direction: ${JSON.stringify(value)}`, [
    { field: 'direction', value, message: "must be 'forwards' or 'backwards'" },
  ]);
}

function maxCountOf(value: unknown): number {
  if (value === undefined) return Number.POSITIVE_INFINITY;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  throw new ValidationError(`Invalid maxCount: ${JSON.stringify(value)}`, [
    { field: 'maxCount', value, message: 'must be an integer >= 0' },
  ]);
}

/** A position from outside (bigint >= 0); `field` names it in the error. */
export function checkPosition(value: unknown, field: string): bigint {
  if (typeof value === 'bigint' && value >= 0n) return value;
  throw new ValidationError(`Invalid position: ${String(value)}`, [
    { field, value: typeof value === 'bigint' ? value.toString() : value, message: 'must be a bigint >= 0' },
  ]);
}

/** Resolves readStream options to an inclusive start revision, a direction and a count. */
export function resolveReadStream(options: ReadStreamOptions): {
  from: number;
  forwards: boolean;
  maxCount: number;
} {
  const forwards = direction(options.direction);
  const maxCount = maxCountOf(options.maxCount);
  const raw = options.fromRevision ?? (forwards ? 'start' : 'end');
  let from: number;
  if (raw === 'start') from = 0;
  else if (raw === 'end') from = END_REVISION;
  else if (typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 0) from = raw;
  else
    throw new ValidationError(`Invalid fromRevision: ${JSON.stringify(raw)}`, [
      { field: 'fromRevision', value: raw, message: "must be 'start', 'end' or a revision >= 0" },
    ]);
  return { from, forwards, maxCount };
}

/** Resolves readAll options to an inclusive start position, a direction and a count. */
export function resolveReadAll(options: ReadAllOptions): {
  from: bigint;
  forwards: boolean;
  maxCount: number;
} {
  const forwards = direction(options.direction);
  const maxCount = maxCountOf(options.maxCount);
  const raw = options.fromPosition ?? (forwards ? 'start' : 'end');
  const from = raw === 'start' ? 0n : raw === 'end' ? END_POSITION : checkPosition(raw, 'fromPosition');
  return { from, forwards, maxCount };
}

/** The exclusive start of a subscription; `head` is the store's last position (0n when empty). */
export function resolveSubscribeFrom(options: SubscribeOptions, head: bigint): bigint {
  const from = options.from ?? 'start';
  if (from === 'start') return 0n;
  if (from === 'end') return head;
  return checkPosition(from, 'from');
}
