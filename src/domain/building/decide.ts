import { assertNever } from '../../core/errors.js';
import type { DecideContext } from '../rules.js';
import {
  reject,
  requireCity,
  requireDistrict,
  requireFootprintInsideCity,
  requireNotInFuture,
} from '../rules.js';
import type { BuildingEvent } from './events.js';
import type { BuildingState } from './state.js';

/**
 * Rules for a building's stream: registered once, inside the city (footprint centroid) and in one of its
 * districts; nothing before registration or after demolition; meter readings not in the future.
 */
export function decideBuilding(
  proposed: BuildingEvent,
  state: BuildingState,
  ctx: DecideContext,
): BuildingEvent[] {
  requireCity(ctx);
  if (proposed.type === 'BuildingRegistered') {
    if (state.status !== 'unregistered') {
      reject('entityId', ctx.entityId, `is already registered as a building (${state.status})`);
    }
  } else if (state.status === 'unregistered') {
    reject('entityId', ctx.entityId, `is not a registered building of ${ctx.city}`);
  } else if (state.status === 'demolished') {
    reject('entityId', ctx.entityId, 'is a demolished building');
  }

  switch (proposed.type) {
    case 'BuildingRegistered':
      requireFootprintInsideCity(ctx, 'data.footprint', proposed.data.footprint);
      requireDistrict(ctx, 'data.district', proposed.data.district);
      return [proposed];
    case 'BuildingAttributesCorrected':
      if (proposed.data.footprint) requireFootprintInsideCity(ctx, 'data.footprint', proposed.data.footprint);
      if (proposed.data.district) requireDistrict(ctx, 'data.district', proposed.data.district);
      return [proposed];
    case 'MeterReadingRecorded':
      requireNotInFuture(ctx, 'data.periodEnd', proposed.data.periodEnd);
      return [proposed];
    case 'BuildingEnergyCertified':
      if (proposed.data.issuedOn)
        requireNotInFuture(ctx, 'data.issuedOn', `${proposed.data.issuedOn}T00:00:00Z`);
      return [proposed];
    case 'BuildingRetrofitted':
    case 'RooftopPvInstalled':
    case 'BuildingDemolished':
      return [proposed];
    default:
      return assertNever(proposed, 'building event');
  }
}
