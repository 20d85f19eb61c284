import { assertNever } from '../src/core/errors.js';
import type { CityEvent, District } from '../src/domain/city/events.js';
import { ENERGY_CARRIERS } from '../src/domain/city/events.js';
import type { MultiPolygon, Polygon } from '../src/domain/geometry.js';
import { type CarrierValues, DEFAULT_EMISSION_FACTORS } from './energy.js';

/** One EmissionFactorsSet as recorded: the carriers it names, from its validFrom date (at once without one). */
export interface EmissionFactorSet {
  factors: Partial<CarrierValues>;
  source: string;
  validFrom?: string;
}

/** The city itself: identity, boundary, districts, population and the emission factors in force. */
export interface CityState {
  name?: string;
  country?: string;
  timezone?: string;
  boundary?: Polygon | MultiPolygon;
  population: number;
  districts: District[];
  /** kg CO2e per kWh final, per carrier, in force: the defaults overlaid with every set in force. */
  emissionFactors: CarrierValues;
  emissionFactorsSource: string;
  emissionFactorsValidFrom?: string;
  /** Every set recorded, in recorded order (also those not yet in force). */
  emissionFactorSets: EmissionFactorSet[];
  registeredAt?: string;
}

/** A city known only from its entities' streams, before (or without) its registration. */
export const emptyCity = (): CityState => ({
  population: 0,
  districts: [],
  emissionFactors: { ...DEFAULT_EMISSION_FACTORS },
  emissionFactorsSource: 'default',
  emissionFactorSets: [],
});

/** When a set comes into force: 00:00 UTC of its validFrom date, or always (no validFrom). */
export function validFromMs(set: EmissionFactorSet): number {
  return set.validFrom === undefined ? Number.NEGATIVE_INFINITY : Date.parse(`${set.validFrom}T00:00:00Z`);
}

/**
 * The factors in force at `atMs`: the defaults overlaid, carrier by carrier, with every set whose validFrom
 * is at or before `atMs`, in validFrom order (sets of the same date in recorded order).
 */
export function withFactorsAt(state: CityState, atMs: number): CityState {
  const sets = state.emissionFactorSets
    .map((set, i) => ({ set, from: validFromMs(set), i }))
    .filter((s) => s.from <= atMs)
    .sort((a, b) => a.from - b.from || a.i - b.i);
  const factors = { ...DEFAULT_EMISSION_FACTORS };
  for (const { set } of sets) {
    for (const c of ENERGY_CARRIERS) {
      const f = set.factors[c];
      if (f !== undefined) factors[c] = f;
    }
  }
  const last = sets[sets.length - 1]?.set;
  return {
    ...state,
    emissionFactors: factors,
    emissionFactorsSource: last ? last.source : 'default',
    emissionFactorsValidFrom: last?.validFrom,
  };
}

/** The earliest validFrom after `atMs` (when the factors in force change next), or +Infinity. */
export function nextFactorChangeMs(state: CityState, atMs: number): number {
  let next = Number.POSITIVE_INFINITY;
  for (const set of state.emissionFactorSets) {
    const from = validFromMs(set);
    if (from > atMs && from < next) next = from;
  }
  return next;
}

/**
 * Applies one city event. A set of emission factors names only the carriers it changes (the others keep
 * their factor) and is in force from its validFrom date; `clockMs` is the time at which the factors in force
 * are taken (the twin's time; the event's own occurredAt by default).
 */
export function evolveCity(
  state: CityState,
  event: CityEvent,
  occurredAt: string,
  clockMs: number = Date.parse(occurredAt),
): CityState {
  switch (event.type) {
    case 'CityRegistered': {
      const d = event.data;
      return {
        ...state,
        name: d.name,
        country: d.country,
        timezone: d.timezone,
        boundary: d.boundary,
        population: d.population,
        districts: d.districts,
        registeredAt: state.registeredAt ?? occurredAt,
      };
    }
    case 'EmissionFactorsSet': {
      const set: EmissionFactorSet = { factors: { ...event.data.factors }, source: event.data.source };
      if (event.data.validFrom !== undefined) set.validFrom = event.data.validFrom;
      return withFactorsAt({ ...state, emissionFactorSets: [...state.emissionFactorSets, set] }, clockMs);
    }
    // Geofences belong to the live gateway (src/realtime/geofenceRegistry.ts), not to the twin's city state.
    case 'GeofenceDefined':
    case 'GeofenceRemoved':
      return state;
    default:
      return assertNever(event, 'city event');
  }
}
