import { booleanPointInPolygon, centroid } from '@turf/turf';
import type { MultiPolygon, Point, Polygon } from 'geojson';
import { DomainRuleError } from '../core/errors.js';
import type { CityState } from './city/state.js';

/**
 * What every decide function gets besides the proposed event and the entity's own state: the time (never
 * read from the system clock inside the domain), the city (its state from the `city-<city>` stream, as it
 * stands at this point of the batch) and the ids of the entity being decided.
 */
export interface DecideContext {
  now: Date;
  city: string;
  cityState: CityState;
  entityId: string;
  /** The write-side state of another entity of this city (e.g. a grid link's end nodes), as it stands in this batch. */
  stateOf<K extends 'building' | 'mobility' | 'grid'>(kind: K, entityId: string): StateOfKind[K];
}

// Declared here (not imported) to keep the rule helpers free of import cycles.
import type { BuildingState } from './building/state.js';
import type { GridState } from './grid/state.js';
import type { MobilityState } from './mobility/state.js';

export interface StateOfKind {
  building: BuildingState;
  mobility: MobilityState;
  grid: GridState;
}

/**
 * Clocks of meters and vehicles drift; a reading may end up to this long after the server's `now` and
 * still count as "not in the future".
 */
export const FUTURE_TOLERANCE_MS = 5 * 60 * 1000;

/** Throws a DomainRuleError naming one field and its value. */
export function reject(field: string, value: unknown, message: string): never {
  throw new DomainRuleError(`${field} ${message} (value: ${short(value)})`, [{ field, value, message }]);
}

function short(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 120 ? `${json.slice(0, 120)}…` : json;
}

/** Nothing may happen in a city before it is registered. */
export function requireCity(ctx: DecideContext): asserts ctx is DecideContext & {
  cityState: CityState & { registered: true; boundary: Polygon | MultiPolygon };
} {
  if (!ctx.cityState.registered) {
    reject('city', ctx.city, 'is not registered: register the city (CityRegistered) before anything in it');
  }
}

/** A point lies inside (or on the edge of) the city's boundary. */
export function requireInsideCity(ctx: DecideContext, field: string, point: Point): void {
  requireCity(ctx);
  if (!booleanPointInPolygon(point.coordinates, ctx.cityState.boundary)) {
    reject(field, point.coordinates, `lies outside the boundary of ${ctx.city}`);
  }
}

/**
 * A building footprint lies inside the city when its centroid does. The centroid (not every vertex) is the
 * rule because city boundaries are simplified polygons and real footprints along the edge would otherwise
 * be rejected for a few metres; a building is counted in the city its middle stands in.
 */
export function requireFootprintInsideCity(ctx: DecideContext, field: string, footprint: Polygon): void {
  requireCity(ctx);
  const middle = centroid(footprint).geometry;
  if (!booleanPointInPolygon(middle, ctx.cityState.boundary)) {
    reject(field, middle.coordinates, `footprint centroid lies outside the boundary of ${ctx.city}`);
  }
}

/** A district id must be one of the city's districts. */
export function requireDistrict(ctx: DecideContext, field: string, district: string): void {
  requireCity(ctx);
  if (!ctx.cityState.districts.includes(district)) {
    reject(
      field,
      district,
      `is not a district of ${ctx.city} (known: ${ctx.cityState.districts.join(', ')})`,
    );
  }
}

/** An instant (a period's end) must not lie in the future. */
export function requireNotInFuture(ctx: DecideContext, field: string, iso: string): void {
  if (Date.parse(iso) > ctx.now.getTime() + FUTURE_TOLERANCE_MS) {
    reject(field, iso, `is in the future (now is ${ctx.now.toISOString()})`);
  }
}
