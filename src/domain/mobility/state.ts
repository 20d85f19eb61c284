import { assertNever } from '../../core/errors.js';
import type { MobilityEvent, MobilityKind } from './events.js';

/** The write-side state of a mobility asset. */
export interface MobilityState {
  kind: 'mobility';
  status: 'unregistered' | 'registered' | 'decommissioned';
  assetKind?: MobilityKind;
  capacity?: number;
}

export const initialMobilityState = (): MobilityState => ({ kind: 'mobility', status: 'unregistered' });

/** Folds one mobility event into the state. */
export function evolveMobility(state: MobilityState, event: MobilityEvent): MobilityState {
  switch (event.type) {
    case 'MobilityAssetRegistered':
      return { ...state, status: 'registered', assetKind: event.data.kind, capacity: event.data.capacity };
    case 'OccupancyReported':
      return event.data.capacity !== undefined ? { ...state, capacity: event.data.capacity } : state;
    case 'MobilityAssetDecommissioned':
      return { ...state, status: 'decommissioned' };
    case 'VehiclePositionReported':
    case 'AssetStatusChanged':
    case 'ChargingSessionRecorded':
      return state;
    default:
      return assertNever(event, 'mobility event');
  }
}
