import { assertNever } from '../core/errors.js';
import { decideBuilding } from './building/decide.js';
import type { BuildingEvent } from './building/events.js';
import { type BuildingState, evolveBuilding, initialBuildingState } from './building/state.js';
import { decideCity } from './city/decide.js';
import type { CityEvent } from './city/events.js';
import { type CityState, evolveCity, initialCityState } from './city/state.js';
import { type DomainEvent, eventDefinition, type StreamKindOfEvent } from './events.js';
import { decideGrid, gridReferences } from './grid/decide.js';
import type { GridEvent } from './grid/events.js';
import { evolveGrid, type GridState, initialGridState } from './grid/state.js';
import { decideMobility } from './mobility/decide.js';
import type { MobilityEvent } from './mobility/events.js';
import { evolveMobility, initialMobilityState, type MobilityState } from './mobility/state.js';
import type { DecideContext } from './rules.js';

/**
 * The write side per stream kind, in one place: the state a stream folds into, how it folds, and the
 * rules for the next event. The write pipeline (src/write/) only talks to these three functions.
 */
export type WriteState = CityState | BuildingState | MobilityState | GridState;

/** The state of a stream with no events yet. */
export function initialState(kind: StreamKindOfEvent): WriteState {
  switch (kind) {
    case 'city':
      return initialCityState();
    case 'building':
      return initialBuildingState();
    case 'mobility':
      return initialMobilityState();
    case 'grid':
      return initialGridState();
    default:
      return assertNever(kind, 'stream kind');
  }
}

/** Folds one event into a stream's state; events of another kind (or unknown types) leave it unchanged. */
export function evolveState(state: WriteState, event: { type: string; data: unknown }): WriteState {
  if (eventDefinition(event.type)?.kind !== state.kind) return state;
  switch (state.kind) {
    case 'city':
      return evolveCity(state, event as CityEvent);
    case 'building':
      return evolveBuilding(state, event as BuildingEvent);
    case 'mobility':
      return evolveMobility(state, event as MobilityEvent);
    case 'grid':
      return evolveGrid(state, event as GridEvent);
    default:
      return assertNever(state, 'write state');
  }
}

/** Applies the kind's rules: the events to append, or a DomainRuleError naming field and value. */
export function decideEvent(proposed: DomainEvent, state: WriteState, ctx: DecideContext): DomainEvent[] {
  switch (state.kind) {
    case 'city':
      return decideCity(proposed as CityEvent, state, ctx);
    case 'building':
      return decideBuilding(proposed as BuildingEvent, state, ctx);
    case 'mobility':
      return decideMobility(proposed as MobilityEvent, state, ctx);
    case 'grid':
      return decideGrid(proposed as GridEvent, state, ctx);
    default:
      return assertNever(state, 'write state');
  }
}

/** Other entities (kind + id, same city) whose state the rules for this event need. */
export function referencedEntities(event: DomainEvent): { kind: 'grid'; entityId: string }[] {
  const kind = eventDefinition(event.type)?.kind;
  if (kind !== 'grid') return [];
  return gridReferences(event as GridEvent).map((entityId) => ({ kind: 'grid', entityId }));
}
