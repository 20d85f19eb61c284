import { UnavailableError } from '../core/errors.js';
import { type AsOf, isTimeTravel, parseAsOf } from './asOf.js';
import type { TimeTravel } from './timeTravel.js';

/** The as-of point a response was computed at (positions as decimal strings). */
export interface AsOfView {
  position: string;
  at?: string;
  validAt?: string;
}

/**
 * The twin a read route answers from: the live twin when the query has no `position`, `at` or `validAt`;
 * otherwise the as-of twin from time travel, with the point it resolved to (to echo in the response).
 * Bad parameters throw a ValidationError naming the field and value.
 * @example const { twin, asOf } = await resolveTwin(deps.timeTravel, city, req.query, () => twins.get(city))
 */
export async function resolveTwin<T>(
  timeTravel: TimeTravel<T> | undefined,
  city: string,
  query: Record<string, unknown>,
  live: () => T | undefined,
): Promise<{ twin: T | undefined; asOf?: AsOfView }> {
  const asOf: AsOf = parseAsOf(query);
  if (!isTimeTravel(asOf)) return { twin: live() };
  if (!timeTravel) throw new UnavailableError('Time travel is not enabled on this server');
  const { twin, asOf: resolved } = await timeTravel.twinAsOf(city, asOf);
  const view: AsOfView = { position: resolved.position.toString() };
  if (resolved.at) view.at = resolved.at;
  if (resolved.validAt) view.validAt = resolved.validAt;
  return { twin, asOf: view };
}
