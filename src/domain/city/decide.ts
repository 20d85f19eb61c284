import { assertNever } from '../../core/errors.js';
import type { DecideContext } from '../rules.js';
import { reject, requireCity } from '../rules.js';
import type { CityEvent } from './events.js';
import type { CityState } from './state.js';

/**
 * Rules for a city's own stream: registered once, districts unique; emission factors only for a
 * registered city; geofences defined in a registered city, removed only when defined. Returns the events to append.
 */
export function decideCity(proposed: CityEvent, state: CityState, ctx: DecideContext): CityEvent[] {
  switch (proposed.type) {
    case 'CityRegistered': {
      if (state.registered) reject('city', ctx.city, 'is already registered');
      const seen = new Set<string>();
      proposed.data.districts.forEach((d, i) => {
        if (seen.has(d.id)) reject(`data.districts.${i}.id`, d.id, 'is listed twice');
        seen.add(d.id);
      });
      return [proposed];
    }
    case 'EmissionFactorsSet':
    case 'GeofenceDefined':
      requireCity({ ...ctx, cityState: state });
      return [proposed];
    case 'GeofenceRemoved':
      requireCity({ ...ctx, cityState: state });
      if (!state.geofences.includes(proposed.data.geofenceId)) {
        reject('data.geofenceId', proposed.data.geofenceId, `is not a geofence of ${ctx.city}`);
      }
      return [proposed];
    default:
      return assertNever(proposed, 'city event');
  }
}
