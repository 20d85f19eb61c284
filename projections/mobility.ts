import { assertNever } from '../src/core/errors.js';
import type { Point } from '../src/domain/geometry.js';
import type { AssetStatus, MobilityEvent, MobilityKind } from '../src/domain/mobility/events.js';
import { isStaticKind } from '../src/domain/mobility/events.js';
import type { TwinFeature } from '../src/twin/changes.js';
import type { EventEnvelope } from './envelope.js';

/** The state of one mobility asset (charger, station, stop or vehicle). Never mutated. */
export interface MobilityState {
  id: string;
  kind: MobilityKind;
  location: Point;
  operator: string;
  name?: string;
  capacity?: number;
  powerKw?: number;
  district?: string;
  routes?: string[];
  status: AssetStatus;
  statusDetail?: string;
  occupied?: number;
  lastPositionAt?: string;
  speedKmh?: number;
  headingDeg?: number;
  chargingSessions: number;
  chargedKwh: number;
  registeredAt: string;
  updatedAt: string;
}

/** The state with every field present in one fixed order (one hidden class: see buildingShape). */
export function mobilityShape(s: MobilityState): MobilityState {
  return {
    id: s.id,
    kind: s.kind,
    location: s.location,
    operator: s.operator,
    name: s.name,
    capacity: s.capacity,
    powerKw: s.powerKw,
    district: s.district,
    routes: s.routes,
    status: s.status,
    statusDetail: s.statusDetail,
    occupied: s.occupied,
    lastPositionAt: s.lastPositionAt,
    speedKmh: s.speedKmh,
    headingDeg: s.headingDeg,
    chargingSessions: s.chargingSessions,
    chargedKwh: s.chargedKwh,
    registeredAt: s.registeredAt,
    updatedAt: s.updatedAt,
  };
}

/**
 * A copy with the fields that position reports and status changes touch: a fixed-shape copy
 * (mobilityShape) whose fields are then set, the same object a spread would give but much cheaper to
 * allocate (these are the most frequent mobility events of a replay).
 */
function mobilityWith(
  s: MobilityState,
  location: Point,
  status: AssetStatus,
  statusDetail: string | undefined,
  lastPositionAt: string | undefined,
  speedKmh: number | undefined,
  headingDeg: number | undefined,
  updatedAt: string,
): MobilityState {
  const next = mobilityShape(s);
  next.location = location;
  next.status = status;
  next.statusDetail = statusDetail;
  next.lastPositionAt = lastPositionAt;
  next.speedKmh = speedKmh;
  next.headingDeg = headingDeg;
  next.updatedAt = updatedAt;
  return next;
}

/** Applies one mobility event. Returns undefined when the asset leaves the layer (decommissioned). */
export function evolveMobility(
  state: MobilityState | undefined,
  event: MobilityEvent,
  env: EventEnvelope,
): MobilityState | undefined {
  if (event.type === 'MobilityAssetRegistered') {
    const d = event.data;
    return mobilityShape({
      id: env.entityId,
      kind: d.kind,
      location: d.location,
      operator: d.operator,
      name: d.name,
      capacity: d.capacity,
      powerKw: d.powerKw,
      district: d.district,
      routes: d.routes,
      // A static asset is usable once registered; a vehicle is in service until told otherwise.
      status: isStaticKind(d.kind) ? 'available' : 'in-service',
      chargingSessions: 0,
      chargedKwh: 0,
      registeredAt: env.occurredAt,
      updatedAt: env.occurredAt,
    });
  }
  if (!state) return undefined;
  switch (event.type) {
    case 'VehiclePositionReported': {
      const d = event.data;
      // Reports can arrive out of order; an older report than the one shown does not move the asset back.
      if (state.lastPositionAt !== undefined && env.occurredAt < state.lastPositionAt) return state;
      return mobilityWith(
        state,
        d.location,
        state.status,
        state.statusDetail,
        env.occurredAt,
        d.speedKmh,
        d.headingDeg,
        env.occurredAt,
      );
    }
    case 'AssetStatusChanged':
      return mobilityWith(
        state,
        state.location,
        event.data.status,
        event.data.detail,
        state.lastPositionAt,
        state.speedKmh,
        state.headingDeg,
        env.occurredAt,
      );
    case 'ChargingSessionRecorded':
      return {
        ...state,
        chargingSessions: state.chargingSessions + 1,
        chargedKwh: state.chargedKwh + event.data.energyKwh,
        updatedAt: env.occurredAt,
      };
    case 'OccupancyReported':
      return {
        ...state,
        occupied: event.data.occupied,
        capacity: event.data.capacity ?? state.capacity,
        updatedAt: env.occurredAt,
      };
    case 'MobilityAssetDecommissioned':
      return undefined;
    default:
      return assertNever(event, 'mobility event');
  }
}

/**
 * Applies a position report or a status change in place to a state the caller owns outright (a twin
 * replaying alone); the result equals `evolveMobility`'s. Returns undefined for the other event types (use
 * evolveMobility), false when the event changed nothing, true when applied.
 */
export function mutateMobility(
  state: MobilityState,
  event: MobilityEvent,
  env: EventEnvelope,
): boolean | undefined {
  switch (event.type) {
    case 'VehiclePositionReported': {
      if (state.lastPositionAt !== undefined && env.occurredAt < state.lastPositionAt) return false;
      const d = event.data;
      state.location = d.location;
      state.lastPositionAt = env.occurredAt;
      state.speedKmh = d.speedKmh;
      state.headingDeg = d.headingDeg;
      state.updatedAt = env.occurredAt;
      return true;
    }
    case 'AssetStatusChanged':
      state.status = event.data.status;
      state.statusDetail = event.data.detail;
      state.updatedAt = env.occurredAt;
      return true;
    default:
      return undefined;
  }
}

/** The GeoJSON feature of a mobility asset. */
export function mobilityFeature(state: MobilityState): TwinFeature {
  return {
    type: 'Feature',
    id: state.id,
    geometry: state.location,
    properties: {
      kind: state.kind,
      status: state.status,
      statusDetail: state.statusDetail ?? null,
      operator: state.operator,
      name: state.name ?? null,
      district: state.district ?? null,
      capacity: state.capacity ?? null,
      occupied: state.occupied ?? null,
      occupancy:
        state.occupied !== undefined && state.capacity ? Math.min(1, state.occupied / state.capacity) : null,
      powerKw: state.powerKw ?? null,
      routes: state.routes ?? null,
      lastPositionAt: state.lastPositionAt ?? null,
      speedKmh: state.speedKmh ?? null,
      headingDeg: state.headingDeg ?? null,
      chargingSessions: state.chargingSessions,
      chargedKwh: state.chargedKwh,
      updatedAt: state.updatedAt,
    },
  };
}
