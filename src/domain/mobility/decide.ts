import { assertNever } from '../../core/errors.js';
import type { DecideContext } from '../rules.js';
import { reject, requireCity, requireDistrict, requireInsideCity, requireNotInFuture } from '../rules.js';
import { isStaticKind, type MobilityEvent } from './events.js';
import type { MobilityState } from './state.js';

/**
 * Rules for a mobility asset's stream: registered once; static assets (chargers, bike stations, stops)
 * inside the city; positions only for vehicles; charging sessions only at chargers and not in the future;
 * occupancy within capacity; nothing before registration or after decommissioning.
 */
export function decideMobility(
  proposed: MobilityEvent,
  state: MobilityState,
  ctx: DecideContext,
): MobilityEvent[] {
  requireCity(ctx);
  if (proposed.type === 'MobilityAssetRegistered') {
    if (state.status !== 'unregistered') {
      reject('entityId', ctx.entityId, `is already registered as a mobility asset (${state.status})`);
    }
  } else if (state.status === 'unregistered') {
    reject('entityId', ctx.entityId, `is not a registered mobility asset of ${ctx.city}`);
  } else if (state.status === 'decommissioned') {
    reject('entityId', ctx.entityId, 'is a decommissioned mobility asset');
  }
  const assetKind = state.assetKind;

  switch (proposed.type) {
    case 'MobilityAssetRegistered':
      if (isStaticKind(proposed.data.kind)) requireInsideCity(ctx, 'data.location', proposed.data.location);
      if (proposed.data.district) requireDistrict(ctx, 'data.district', proposed.data.district);
      return [proposed];
    case 'VehiclePositionReported':
      if (assetKind && isStaticKind(assetKind)) {
        reject(
          'type',
          proposed.type,
          `is only for vehicles; ${ctx.entityId} is a ${assetKind}, which does not move`,
        );
      }
      return [proposed];
    case 'ChargingSessionRecorded':
      if (assetKind !== 'ev-charger') {
        reject('type', proposed.type, `is only for ev-chargers; ${ctx.entityId} is a ${assetKind}`);
      }
      requireNotInFuture(ctx, 'data.endedAt', proposed.data.endedAt);
      return [proposed];
    case 'OccupancyReported': {
      const capacity = proposed.data.capacity ?? state.capacity;
      if (capacity !== undefined && proposed.data.occupied > capacity) {
        reject('data.occupied', proposed.data.occupied, `exceeds the capacity of ${capacity}`);
      }
      return [proposed];
    }
    case 'AssetStatusChanged':
    case 'MobilityAssetDecommissioned':
      return [proposed];
    default:
      return assertNever(proposed, 'mobility event');
  }
}
