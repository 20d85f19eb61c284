import { assertNever } from '../src/core/errors.js';
import type { CityEvent, District } from '../src/domain/city/events.js';
import { ENERGY_CARRIERS } from '../src/domain/city/events.js';
import type { MultiPolygon, Polygon } from '../src/domain/geometry.js';
import { type CarrierValues, DEFAULT_EMISSION_FACTORS } from './energy.js';

/** The city itself: identity, boundary, districts, population and the emission factors in force. */
export interface CityState {
  name?: string;
  country?: string;
  timezone?: string;
  boundary?: Polygon | MultiPolygon;
  population: number;
  districts: District[];
  /** kg CO2e per kWh final, per carrier: the defaults overlaid with every set applied so far. */
  emissionFactors: CarrierValues;
  emissionFactorsSource: string;
  emissionFactorsValidFrom?: string;
  registeredAt?: string;
}

/** A city known only from its entities' streams, before (or without) its registration. */
export const emptyCity = (): CityState => ({
  population: 0,
  districts: [],
  emissionFactors: { ...DEFAULT_EMISSION_FACTORS },
  emissionFactorsSource: 'default',
});

/**
 * Applies one city event. Emission factors take effect when the set is recorded; a set names only the
 * carriers it changes, the others keep their previous factor. `validFrom` is kept as information.
 */
export function evolveCity(state: CityState, event: CityEvent, occurredAt: string): CityState {
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
      const factors = { ...state.emissionFactors };
      for (const c of ENERGY_CARRIERS) {
        const f = event.data.factors[c];
        if (f !== undefined) factors[c] = f;
      }
      return {
        ...state,
        emissionFactors: factors,
        emissionFactorsSource: event.data.source,
        emissionFactorsValidFrom: event.data.validFrom,
      };
    }
    // Geofences belong to the live gateway (src/realtime/geofenceRegistry.ts), not to the twin's city state.
    case 'GeofenceDefined':
    case 'GeofenceRemoved':
      return state;
    default:
      return assertNever(event, 'city event');
  }
}
