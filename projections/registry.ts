import { buildingEventSchemas } from '../src/domain/building/events.js';
import { cityEventSchemas } from '../src/domain/city/events.js';
import { gridEventSchemas } from '../src/domain/grid/events.js';
import { mobilityEventSchemas } from '../src/domain/mobility/events.js';
import type { EntityKind } from '../src/domain/streams.js';
import type { LayerName } from '../src/twin/changes.js';
import { buildingFeature, evolveBuilding, mutateBuilding } from './buildings.js';
import { evolveCity } from './city.js';
import { evolveGrid, gridFeature, mutateGrid } from './grid.js';
import {
  buildingContribution,
  gridContribution,
  KPI_DEFINITIONS,
  KPI_FIELDS,
  mobilityContribution,
} from './kpis.js';
import { evolveMobility, mobilityFeature, mutateMobility } from './mobility.js';

/**
 * The one place that says which projection handles which stream kind and event types, which layer it
 * feeds, and how its entities contribute to the KPIs. The twin routes every event through this table.
 * `evolve` is pure (a new state per event); `mutate` is its in-place form for the most frequent events, used
 * only by a twin that owns its states outright (a replay with no copies sharing them).
 */
export const PROJECTIONS = {
  buildings: {
    streamKind: 'building',
    eventTypes: Object.keys(buildingEventSchemas),
    evolve: evolveBuilding,
    mutate: mutateBuilding,
    feature: buildingFeature,
    contribution: buildingContribution,
  },
  mobility: {
    streamKind: 'mobility',
    eventTypes: Object.keys(mobilityEventSchemas),
    evolve: evolveMobility,
    mutate: mutateMobility,
    feature: mobilityFeature,
    contribution: mobilityContribution,
  },
  grid: {
    streamKind: 'grid',
    eventTypes: Object.keys(gridEventSchemas),
    evolve: evolveGrid,
    mutate: mutateGrid,
    feature: gridFeature,
    contribution: gridContribution,
  },
} as const satisfies Record<
  LayerName,
  { streamKind: EntityKind; eventTypes: string[]; [k: string]: unknown }
>;

/** The city projection (identity, districts, emission factors): not a layer, but the context of all three. */
export const CITY_PROJECTION = { eventTypes: Object.keys(cityEventSchemas), evolve: evolveCity };

/** The layer fed by each entity stream kind. */
export const LAYER_OF_KIND: Record<EntityKind, LayerName> = {
  building: 'buildings',
  mobility: 'mobility',
  grid: 'grid',
};

const typesOf = (layer: LayerName) => new Set<string>(PROJECTIONS[layer].eventTypes);
const TYPES_BY_LAYER: Record<LayerName, Set<string>> = {
  buildings: typesOf('buildings'),
  mobility: typesOf('mobility'),
  grid: typesOf('grid'),
};
const CITY_TYPES = new Set(CITY_PROJECTION.eventTypes);

/** Whether the layer's projection handles this event type (unknown types are skipped, not errors). */
export const handles = (layer: LayerName, type: string) => TYPES_BY_LAYER[layer].has(type);
export const handlesCity = (type: string) => CITY_TYPES.has(type);

export { KPI_DEFINITIONS, KPI_FIELDS };
