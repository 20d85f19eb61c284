import type { MultiPolygon, Polygon } from 'geojson';
import { assertNever } from '../../core/errors.js';
import type { CityEvent, EnergyCarrier } from './events.js';

/** The write-side state of a city: what other kinds' rules need (boundary, districts). */
export interface CityState {
  kind: 'city';
  registered: boolean;
  boundary?: Polygon | MultiPolygon;
  districts: string[];
  emissionFactors: Partial<Record<EnergyCarrier, number>>;
  /** Ids of the geofences currently defined. */
  geofences: string[];
}

export const initialCityState = (): CityState => ({
  kind: 'city',
  registered: false,
  districts: [],
  emissionFactors: {},
  geofences: [],
});

/** Folds one city event into the state. */
export function evolveCity(state: CityState, event: CityEvent): CityState {
  switch (event.type) {
    case 'CityRegistered':
      return {
        ...state,
        registered: true,
        boundary: event.data.boundary,
        districts: event.data.districts.map((d) => d.id),
      };
    case 'EmissionFactorsSet':
      return { ...state, emissionFactors: { ...state.emissionFactors, ...event.data.factors } };
    case 'GeofenceDefined':
      return state.geofences.includes(event.data.geofenceId)
        ? state
        : { ...state, geofences: [...state.geofences, event.data.geofenceId] };
    case 'GeofenceRemoved':
      return { ...state, geofences: state.geofences.filter((id) => id !== event.data.geofenceId) };
    default:
      return assertNever(event, 'city event');
  }
}
