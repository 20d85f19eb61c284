import type { Role } from '../access/roles.js';

/**
 * The central access policy: every route under /api/v1 with the role it needs and where the city that
 * scopes it comes from. The access middleware (src/http/accessControl.ts) consults this table for every
 * request before any router runs; a route missing here is denied (deny by default), so a new route is
 * unreachable until someone decides who may use it.
 */
export const API_PREFIX = '/api/v1';

/** Paths anyone may call, without a key. */
export const PUBLIC_PATHS: ReadonlySet<string> = new Set(['/health', '/ready', `${API_PREFIX}/openapi.json`]);

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * Where the route's city comes from:
 * - `param`: a path parameter; `query`: a query parameter (absent: only an all-cities key may call);
 * - `body`: a field of the JSON body; `scenario`: the city the scenario named by a path parameter was
 *   forked from (unknown scenario: only an all-cities key passes, and then gets the route's 404);
 * - `none`: the route is not about one city (its handler filters or it is global).
 * `global` routes (keys) need an all-cities key even for an admin, so a city-scoped admin cannot mint a
 * key wider than itself.
 */
export type CitySource =
  | { from: 'param'; name: string }
  | { from: 'query'; name: string }
  | { from: 'body'; field: string }
  | { from: 'scenario'; param: string }
  | { from: 'none' }
  | { from: 'global' };

export interface PolicyRule {
  method: HttpMethod;
  /** Path under /api/v1 with `:name` segments. */
  path: string;
  role: Role;
  city: CitySource;
  /** A sentence for the README's matrix and test names. */
  what: string;
}

const city = { from: 'param', name: 'city' } as const;
const scenario = { from: 'scenario', param: 'id' } as const;
const queryCity = { from: 'query', name: 'city' } as const;

export const ACCESS_POLICY: readonly PolicyRule[] = [
  { method: 'GET', path: '/cities', role: 'viewer', city: { from: 'none' }, what: 'list the cities' },
  { method: 'GET', path: '/cities/:city', role: 'viewer', city, what: 'read a city' },
  { method: 'POST', path: '/cities/:city/events', role: 'operator', city, what: 'ingest events' },
  { method: 'GET', path: '/cities/:city/layers/:layer', role: 'viewer', city, what: 'read a layer' },
  {
    method: 'POST',
    path: '/cities/:city/layers/:layer',
    role: 'viewer',
    city,
    what: 'query a layer within a polygon',
  },
  { method: 'GET', path: '/cities/:city/entities/:id', role: 'viewer', city, what: 'read an entity' },
  {
    method: 'GET',
    path: '/cities/:city/entities/:id/history',
    role: 'viewer',
    city,
    what: "read an entity's states over time",
  },
  { method: 'GET', path: '/cities/:city/kpis', role: 'viewer', city, what: 'read the KPIs' },
  { method: 'GET', path: '/cities/:city/geofences', role: 'viewer', city, what: 'list the geofences' },
  { method: 'POST', path: '/cities/:city/geofences', role: 'operator', city, what: 'define a geofence' },
  { method: 'GET', path: '/cities/:city/geofences/:id', role: 'viewer', city, what: 'read a geofence' },
  {
    method: 'DELETE',
    path: '/cities/:city/geofences/:id',
    role: 'operator',
    city,
    what: 'remove a geofence',
  },
  {
    method: 'GET',
    path: '/cities/:city/geofences/:id/events',
    role: 'viewer',
    city,
    what: "replay a geofence's transitions",
  },
  {
    method: 'POST',
    path: '/scenarios',
    role: 'planner',
    city: { from: 'body', field: 'city' },
    what: 'fork a scenario',
  },
  { method: 'GET', path: '/scenarios/:id', role: 'planner', city: scenario, what: 'read a scenario' },
  {
    method: 'POST',
    path: '/scenarios/:id/events',
    role: 'planner',
    city: scenario,
    what: 'append to a scenario',
  },
  {
    method: 'GET',
    path: '/scenarios/:id/layers/:layer',
    role: 'planner',
    city: scenario,
    what: "read a scenario's layer",
  },
  {
    method: 'POST',
    path: '/scenarios/:id/layers/:layer',
    role: 'planner',
    city: scenario,
    what: "query a scenario's layer within a polygon",
  },
  {
    method: 'GET',
    path: '/scenarios/:id/kpis',
    role: 'planner',
    city: scenario,
    what: "read a scenario's KPIs",
  },
  {
    method: 'GET',
    path: '/scenarios/:id/compare',
    role: 'planner',
    city: scenario,
    what: 'compare a scenario with the city',
  },
  {
    method: 'GET',
    path: '/scenarios',
    role: 'planner',
    city: { from: 'none' },
    what: "list scenarios (only those of the key's cities)",
  },
  {
    method: 'GET',
    path: '/scenarios/:id/events',
    role: 'planner',
    city: scenario,
    what: "read a scenario's events",
  },
  {
    method: 'POST',
    path: '/scenarios/:id/operations',
    role: 'planner',
    city: scenario,
    what: 'apply what-if operations to a scenario',
  },
  {
    method: 'POST',
    path: '/scenarios/:id/archive',
    role: 'planner',
    city: scenario,
    what: 'archive a scenario',
  },
  { method: 'DELETE', path: '/scenarios/:id', role: 'planner', city: scenario, what: 'archive a scenario' },
  {
    method: 'GET',
    path: '/scenarios/:id/diff/:layer',
    role: 'planner',
    city: scenario,
    what: "diff a scenario's layer with the city",
  },
  {
    method: 'GET',
    path: '/audit/entities/:city/:id',
    role: 'auditor',
    city,
    what: "read an entity's history",
  },
  { method: 'GET', path: '/audit/events', role: 'auditor', city: queryCity, what: 'search the event log' },
  { method: 'GET', path: '/audit/verify', role: 'auditor', city: queryCity, what: 'verify hash chains' },
  { method: 'GET', path: '/keys', role: 'admin', city: { from: 'global' }, what: 'list API keys' },
  { method: 'POST', path: '/keys', role: 'admin', city: { from: 'global' }, what: 'create an API key' },
  {
    method: 'DELETE',
    path: '/keys/:keyId',
    role: 'admin',
    city: { from: 'global' },
    what: 'revoke an API key',
  },
];

export interface PolicyMatch {
  rule: PolicyRule;
  params: Record<string, string>;
}

interface Compiled {
  rule: PolicyRule;
  segments: string[];
}

const compiled: Compiled[] = ACCESS_POLICY.map((rule) => ({ rule, segments: rule.path.split('/').slice(1) }));

/**
 * The rule for a request, or undefined (deny). `path` is the full request path (with /api/v1); HEAD is
 * treated as GET, a trailing slash is ignored, parameters are URL-decoded like Express does.
 */
export function matchPolicy(method: string, path: string): PolicyMatch | undefined {
  const m = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
  if (!path.startsWith(`${API_PREFIX}/`)) return undefined;
  let rest = path.slice(API_PREFIX.length);
  if (rest.length > 1 && rest.endsWith('/')) rest = rest.slice(0, -1);
  const parts = rest.split('/').slice(1);
  for (const { rule, segments } of compiled) {
    if (rule.method !== m || segments.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < segments.length && ok; i++) {
      const seg = segments[i] as string;
      const part = parts[i] as string;
      if (seg.startsWith(':')) {
        const value = safeDecode(part);
        if (value === undefined || value === '') ok = false;
        else params[seg.slice(1)] = value;
      } else {
        ok = seg === part;
      }
    }
    if (ok) return { rule, params };
  }
  return undefined;
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
