import { assertNever } from '../src/core/errors.js';
import type { LineString, Point } from '../src/domain/geometry.js';
import type { GridEvent, GridNodeKind, Network } from '../src/domain/grid/events.js';
import type { TwinFeature } from '../src/twin/changes.js';
import type { EventEnvelope } from './envelope.js';

/** An open failure of a grid element: keyed by incident id, else by service, else `default`. */
export interface OpenFailure {
  key: string;
  incidentId?: string;
  service?: string;
  cause?: string;
  since: string;
}

/** The state of one energy-network element (node or link). Never mutated. */
export interface GridState {
  id: string;
  element: 'node' | 'link';
  network: Network;
  /** The node kind, or `link`. */
  kind: GridNodeKind | 'link';
  geometry: Point | LineString;
  capacityKw?: number;
  name?: string;
  district?: string;
  fromNode?: string;
  toNode?: string;
  lastLoadKw?: number;
  lastLoadAt?: string;
  peakLoadKw?: number;
  openFailures: OpenFailure[];
  failuresTotal: number;
  registeredAt: string;
  updatedAt: string;
}

/** Load / capacity, or null without a capacity or a load. */
export function utilisation(load: number | undefined, capacity: number | undefined): number | null {
  if (load === undefined || !capacity) return null;
  return Math.abs(load) / capacity;
}

const failureKey = (incidentId?: string, service?: string) => incidentId ?? service ?? 'default';

/** The state with every field present in one fixed order (one hidden class: see buildingShape). */
export function gridShape(s: GridState): GridState {
  return {
    id: s.id,
    element: s.element,
    network: s.network,
    kind: s.kind,
    geometry: s.geometry,
    capacityKw: s.capacityKw,
    name: s.name,
    district: s.district,
    fromNode: s.fromNode,
    toNode: s.toNode,
    lastLoadKw: s.lastLoadKw,
    lastLoadAt: s.lastLoadAt,
    peakLoadKw: s.peakLoadKw,
    openFailures: s.openFailures,
    failuresTotal: s.failuresTotal,
    registeredAt: s.registeredAt,
    updatedAt: s.updatedAt,
  };
}

/**
 * `{ ...s, lastLoadKw, lastLoadAt, peakLoadKw, updatedAt: lastLoadAt }` without the spread: a fixed-shape
 * copy (gridShape) whose fields are then set is much cheaper to allocate (load reports are frequent).
 */
function withLoad(s: GridState, lastLoadKw: number, lastLoadAt: string, peakLoadKw: number): GridState {
  const next = gridShape(s);
  next.lastLoadKw = lastLoadKw;
  next.lastLoadAt = lastLoadAt;
  next.peakLoadKw = peakLoadKw;
  next.updatedAt = lastLoadAt;
  return next;
}

/**
 * Applies a load report in place to a state the caller owns outright (a twin replaying alone); the result
 * equals `evolveGrid`'s. Returns undefined for the other event types (use evolveGrid), true when applied.
 */
export function mutateGrid(state: GridState, event: GridEvent, env: EventEnvelope): boolean | undefined {
  if (event.type !== 'GridLoadReported') return undefined;
  const load = event.data.loadKw;
  state.peakLoadKw = Math.max(state.peakLoadKw ?? 0, Math.abs(load));
  state.lastLoadKw = load;
  state.lastLoadAt = env.occurredAt;
  state.updatedAt = env.occurredAt;
  return true;
}

/** Applies one grid event. Returns undefined when the element is removed. */
export function evolveGrid(
  state: GridState | undefined,
  event: GridEvent,
  env: EventEnvelope,
): GridState | undefined {
  if (event.type === 'GridNodeAdded') {
    const d = event.data;
    return gridShape({
      id: env.entityId,
      element: 'node',
      network: d.network,
      kind: d.nodeKind,
      geometry: d.location,
      capacityKw: d.capacityKw,
      name: d.name,
      district: d.district,
      openFailures: [],
      failuresTotal: 0,
      registeredAt: env.occurredAt,
      updatedAt: env.occurredAt,
    });
  }
  if (event.type === 'GridLinkAdded') {
    const d = event.data;
    return gridShape({
      id: env.entityId,
      element: 'link',
      network: d.network,
      kind: 'link',
      geometry: d.path,
      capacityKw: d.capacityKw,
      name: d.name,
      fromNode: d.fromNode,
      toNode: d.toNode,
      openFailures: [],
      failuresTotal: 0,
      registeredAt: env.occurredAt,
      updatedAt: env.occurredAt,
    });
  }
  if (!state) return undefined;
  switch (event.type) {
    case 'GridLoadReported': {
      const load = event.data.loadKw;
      // The peak is of the absolute load: a feed-in (negative load) stresses an element as much.
      const peak = Math.max(state.peakLoadKw ?? 0, Math.abs(load));
      return withLoad(state, load, env.occurredAt, peak);
    }
    case 'GridElementFailed': {
      const d = event.data;
      const key = failureKey(d.incidentId, d.service);
      // The same incident reported twice stays one open failure.
      if (state.openFailures.some((f) => f.key === key)) return { ...state, updatedAt: env.occurredAt };
      const failure: OpenFailure = { key, since: env.occurredAt };
      if (d.incidentId !== undefined) failure.incidentId = d.incidentId;
      if (d.service !== undefined) failure.service = d.service;
      if (d.cause !== undefined) failure.cause = d.cause;
      return {
        ...state,
        openFailures: [...state.openFailures, failure],
        failuresTotal: state.failuresTotal + 1,
        updatedAt: env.occurredAt,
      };
    }
    case 'GridElementRestored': {
      const d = event.data;
      // A restore names its incident; without one it closes the failures of its service, or all of them.
      const open = state.openFailures.filter((f) =>
        d.incidentId !== undefined
          ? f.key !== d.incidentId
          : d.service !== undefined
            ? f.service !== d.service && f.key !== d.service
            : false,
      );
      return { ...state, openFailures: open, updatedAt: env.occurredAt };
    }
    case 'GridElementRemoved':
      return undefined;
    default:
      return assertNever(event, 'grid event');
  }
}

/** The GeoJSON feature of a grid element: a node is a Point, a link a LineString. */
export function gridFeature(state: GridState): TwinFeature {
  const u = utilisation(state.lastLoadKw, state.capacityKw);
  const peak = utilisation(state.peakLoadKw, state.capacityKw);
  return {
    type: 'Feature',
    id: state.id,
    geometry: state.geometry,
    properties: {
      element: state.element,
      kind: state.kind,
      network: state.network,
      name: state.name ?? null,
      district: state.district ?? null,
      fromNode: state.fromNode ?? null,
      toNode: state.toNode ?? null,
      capacityKw: state.capacityKw ?? null,
      lastLoadKw: state.lastLoadKw ?? null,
      lastLoadAt: state.lastLoadAt ?? null,
      utilisation: u === null ? null : Math.round(u * 10_000) / 10_000,
      peakLoadKw: state.peakLoadKw ?? null,
      peakUtilisation: peak === null ? null : Math.round(peak * 10_000) / 10_000,
      overloaded: u !== null && u > 1,
      status: state.openFailures.length > 0 ? 'failed' : 'ok',
      openFailures: state.openFailures,
      failuresTotal: state.failuresTotal,
      updatedAt: state.updatedAt,
    },
  };
}
