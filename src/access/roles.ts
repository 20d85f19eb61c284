/**
 * Roles and city scopes of API keys, and the one rule deciding whether a principal may act in a city.
 * Shared by the HTTP access policy and the live gateway so both enforce the same thing.
 */
export const ROLES = ['viewer', 'operator', 'planner', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** `*` means every city, present and future; otherwise the explicit list of city ids. */
export type CityScope = '*' | readonly string[];

/** Who is calling: the authenticated API key (or the anonymous reader when that is enabled). */
export interface Principal {
  /** The key id; recorded as `actor` on every event this principal writes. */
  id: string;
  role: Role;
  cities: CityScope;
  label?: string;
}

/** The principal used for unauthenticated reads when ALLOW_ANONYMOUS_READS is on. */
export const ANONYMOUS_READER: Principal = Object.freeze({
  id: 'anonymous',
  role: 'viewer' as const,
  cities: '*' as const,
  label: 'anonymous reader',
});

/**
 * Role hierarchy: admin includes every role; operator, planner and auditor each include viewer (reading the
 * twin of their cities is part of every job); otherwise a role includes only itself.
 */
export function roleIncludes(held: Role, required: Role): boolean {
  if (held === 'admin' || held === required) return true;
  return required === 'viewer';
}

/** Whether the scope covers `city`. */
export function scopeIncludes(scope: CityScope, city: string): boolean {
  return scope === '*' || scope.includes(city);
}

/**
 * Whether `principal` may act with `role` in `city` (city undefined: an action not tied to one city, which
 * only an all-cities key may take unless `cityOptional`).
 * @example canAccess(p, { city: 'cluj-napoca', role: 'viewer' })
 */
export function canAccess(
  principal: Principal | undefined,
  need: { city?: string | undefined; role: Role; cityOptional?: boolean },
): boolean {
  if (!principal) return false;
  if (!roleIncludes(principal.role, need.role)) return false;
  if (need.city === undefined) return need.cityOptional === true || principal.cities === '*';
  return scopeIncludes(principal.cities, need.city);
}
