import { assertNever } from '../../core/errors.js';
import type { BuildingEvent } from './events.js';

/** The write-side state of a building: enough to judge the next event. */
export interface BuildingState {
  kind: 'building';
  status: 'unregistered' | 'registered' | 'demolished';
  district?: string;
}

export const initialBuildingState = (): BuildingState => ({ kind: 'building', status: 'unregistered' });

/** Folds one building event into the state. */
export function evolveBuilding(state: BuildingState, event: BuildingEvent): BuildingState {
  switch (event.type) {
    case 'BuildingRegistered':
      return { ...state, status: 'registered', district: event.data.district };
    case 'BuildingAttributesCorrected':
      return event.data.district ? { ...state, district: event.data.district } : state;
    case 'BuildingDemolished':
      return { ...state, status: 'demolished' };
    case 'BuildingEnergyCertified':
    case 'MeterReadingRecorded':
    case 'BuildingRetrofitted':
    case 'RooftopPvInstalled':
      return state;
    default:
      return assertNever(event, 'building event');
  }
}
