import { ValidationError } from '../core/errors.js';
import type { EventFilter } from './port.js';

/** True when an event of `type` on `stream` passes every criterion of the filter (no filter passes all). */
export function matchesFilter(filter: EventFilter | undefined, stream: string, type: string): boolean {
  if (!filter) return true;
  const { streamPrefixes, eventTypes } = filter;
  if (streamPrefixes && !streamPrefixes.some((prefix) => stream.startsWith(prefix))) return false;
  if (eventTypes && !eventTypes.includes(type)) return false;
  return true;
}

/**
 * Checks a filter's shape and drops criteria that select everything, so adapters can skip filtering work.
 * An empty list is a filter that matches nothing, which is almost certainly a caller's mistake: rejected.
 */
export function normaliseFilter(filter: EventFilter | undefined): EventFilter | undefined {
  if (!filter) return undefined;
  const out: EventFilter = {};
  if (filter.streamPrefixes !== undefined) {
    if (!Array.isArray(filter.streamPrefixes) || filter.streamPrefixes.length === 0) {
      throw new ValidationError('A stream prefix filter needs at least one prefix', [
        { field: 'filter.streamPrefixes', value: filter.streamPrefixes, message: 'must be a non-empty list' },
      ]);
    }
    // An empty prefix matches every stream, so the criterion is moot.
    if (!filter.streamPrefixes.includes('')) out.streamPrefixes = [...filter.streamPrefixes];
  }
  if (filter.eventTypes !== undefined) {
    if (!Array.isArray(filter.eventTypes) || filter.eventTypes.length === 0) {
      throw new ValidationError('An event type filter needs at least one type', [
        { field: 'filter.eventTypes', value: filter.eventTypes, message: 'must be a non-empty list' },
      ]);
    }
    out.eventTypes = [...filter.eventTypes];
  }
  return out.streamPrefixes || out.eventTypes ? out : undefined;
}
