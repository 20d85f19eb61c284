import { booleanPointInPolygon } from '@turf/turf';
import RBush from 'rbush';
import type { BuildingState } from '../../projections/buildings.js';
import { buildingEnergy, buildingShape } from '../../projections/buildings.js';
import {
  type CityState,
  emptyCity,
  evolveCity,
  nextFactorChangeMs,
  withFactorsAt,
} from '../../projections/city.js';
import type { CarrierValues } from '../../projections/energy.js';
import type { EventEnvelope } from '../../projections/envelope.js';
import { type GridState, gridShape } from '../../projections/grid.js';
import {
  COVERAGE_RADIUS_M,
  type Contribution,
  type Coverage,
  coversResidents,
  F,
  KPI_SCALE,
  KPI_WIDTH,
  type KpiValues,
  kpiValues,
  type PeakElement,
  peakUtilisationOf,
} from '../../projections/kpis.js';
import { type MobilityState, mobilityShape } from '../../projections/mobility.js';
import { handles, handlesCity, LAYER_OF_KIND, PROJECTIONS } from '../../projections/registry.js';
import type { BuildingEvent } from '../domain/building/events.js';
import type { CityEvent } from '../domain/city/events.js';
import type { GridEvent } from '../domain/grid/events.js';
import type { MobilityEvent } from '../domain/mobility/events.js';
import { type EntityKind, parseStream } from '../domain/streams.js';
import type { LayerName, TwinChange, TwinFeature } from './changes.js';
import { type BBox, distanceM, geometryBBox, pointBox, radiusBox, representativePoint } from './geo.js';
import { KpiAccumulator } from './kpiAccumulator.js';
import { type LayerQuery, type QueryResult, queryLayer } from './query.js';
import { SpatialIndex } from './spatialIndex.js';

/** A charger in service or a transit stop, at its point (a box of that point, for an rbush). */
interface CoveringAsset {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  charger: boolean;
}

/** The asset as a covering one, or undefined when it covers no resident (not a charger in service nor a stop). */
function coveringAssetOf(asset: Entity<MobilityState>): CoveringAsset | undefined {
  if (!coversResidents(asset.state)) return undefined;
  const [x, y] = asset.point;
  return { minX: x, minY: y, maxX: x, maxY: y, charger: asset.state.kind === 'ev-charger' };
}

/** The coverage of [x, y] by the covering assets found near it: those within 400 m, counted by kind. */
function coverageAt(x: number, y: number, found: Iterable<CoveringAsset>): Coverage {
  let chargers = 0;
  let transitStops = 0;
  for (const asset of found) {
    if (distanceM(x, y, asset.minX, asset.minY) > COVERAGE_RADIUS_M) continue;
    if (asset.charger) chargers++;
    else transitStops++;
  }
  return chargers === 0 && transitStops === 0 ? NO_COVERAGE : { chargers, transitStops };
}

/** What the twin needs of an event: the recorded envelope (a RecordedEvent or StoredDomainEvent fits). */
export interface TwinEvent {
  id?: string;
  type: string;
  stream: string;
  position?: bigint;
  recordedAt?: string;
  data: unknown;
  metadata?: unknown;
}

/** Where an event lands: parsed from its stream, or given explicitly (scenario overlays). */
export type ApplyTarget = EntityTarget | { kind: 'city' };

/** An entity as a target. */
export interface EntityTarget {
  kind: EntityKind;
  entityId: string;
  /**
   * The record a twin last found for the entity, kept there by that twin alone (see CityTwin.recordOf): a
   * target reused for every event of its stream (the registry's routes) saves a lookup in the layer per event.
   */
  record?: Entity<unknown>;
}

/**
 * One entity of a layer: its projection state, its feature, its KPI contribution and where it counts.
 * A record belongs to the twin whose `epoch` it carries and is updated in place by that twin only; `clone()`
 * gives both twins new epochs, so records they share are never written again (copy on write).
 */
export interface Entity<S> {
  state: S;
  /** The contribution currently added to the KPI sums (out of date while the id is stale in a bulk replay). */
  contribution: Contribution;
  district: string | undefined;
  /** Representative point (centroid of a footprint, the point of an asset) for 400 m coverage. */
  point: [number, number];
  /** Made on first read (or when a change is reported), then cached until the state changes. */
  feature: TwinFeature | undefined;
  /** The emission factors a cached building feature was made under (its CO2e depends on them). */
  featureFactors: CarrierValues | undefined;
  epoch: number;
  /**
   * Set on a record its twin owns once its id is in that twin's stale set (bulk replay), so the frequent
   * in-place events skip adding it again (a hash lookup in a set of tens of thousands per event).
   */
  stale: boolean;
}

/** Epochs of record ownership (see Entity); every twin and every clone takes a new one. */
let epochs = 0;
/** The epoch of a record its twin removed: no twin's (theirs count up from 1). */
const RETIRED = 0;

type StateOf = { buildings: BuildingState; mobility: MobilityState; grid: GridState };
type Layers = { [L in LayerName]: Map<string, Entity<StateOf[L]>> };

const NO_COVERAGE: Coverage = Object.freeze({ chargers: 0, transitStops: 0 });

export const CITY_TWIN_SNAPSHOT_VERSION = 1;

/** A serialisable, versioned image of one city twin. Positions are decimal strings. */
export interface CityTwinSnapshot {
  version: typeof CITY_TWIN_SNAPSHOT_VERSION;
  city: string;
  position: string | null;
  cityState: CityState;
  buildings: Array<[string, BuildingState, string | null, number[]]>;
  mobility: Array<[string, MobilityState, string | null, number[]]>;
  grid: Array<[string, GridState, string | null, number[]]>;
  coverage: Array<[string, number, number]>;
  /**
   * The KPI sums of snapshots of earlier versions; no longer written or read: the sums are exact, so a
   * restore adds up the entities' contributions again and gets the same numbers.
   */
  kpis?: unknown;
  /** The twin's time (latest occurredAt applied, ISO), which decides the emission factors in force. */
  clock?: string | null;
  /** Taken during a bulk replay: coverage is not yet recounted; the restored twin finishes it on first read. */
  deferred: boolean;
}

/**
 * The metadata members a twin reads of an event (here and in changeBatchOf): what the projection runner
 * asks its subscription for, so a long catch-up does not hand it the rest (SubscribeOptions.metadataKeys).
 */
export const TWIN_METADATA_KEYS: readonly string[] = ['occurredAt'];

const occurredAtOf = (event: TwinEvent): string => {
  const meta = event.metadata as { occurredAt?: unknown } | undefined;
  return typeof meta?.occurredAt === 'string'
    ? meta.occurredAt
    : (event.recordedAt ?? '1970-01-01T00:00:00.000Z');
};

/** `Date#toISOString` output: 24 characters ending in Z; two such strings order like their times. */
const isCanonicalIso = (s: string) => s.length === 24 && s.charCodeAt(23) === 90;

/**
 * The twin of one city: three layers of GeoJSON features, a spatial index per layer, and KPIs kept
 * incrementally. `apply` is the only way in; it is deterministic, so a snapshot plus a tail equals a replay.
 */
export class CityTwin {
  readonly city: string;
  /** Global position of the last applied event. */
  position: bigint | undefined;
  private cityState: CityState = emptyCity();
  private layers: Layers = { buildings: new Map(), mobility: new Map(), grid: new Map() };
  private readonly indexes: Record<LayerName, SpatialIndex> = {
    buildings: new SpatialIndex(),
    mobility: new SpatialIndex(),
    grid: new SpatialIndex(),
  };
  private coverage = new Map<string, Coverage>();
  private kpi = new KpiAccumulator();
  private peaks = new Map<string, PeakElement | null>();
  private dirtyPeaks = new Set<string>();
  private bulk = false;
  /** Buildings and grid elements whose contribution is out of date (bulk replay only; see endBulk). */
  private staleBuildings = new Set<string>();
  private staleGrid = new Set<string>();
  private gridTouched = false;
  /** An entity event was applied (or a deferred snapshot restored) during the bulk replay: recount coverage. */
  private bulkChanged = false;
  /** An asset moved in place during the bulk replay: its index entry is set when the replay ends. */
  private movedInPlace = false;
  private districtBoxes: Array<{ id: string; box: BBox; boundary: NonNullable<CityState['boundary']> }> = [];
  private epoch = ++epochs;
  /**
   * True while no copy shares this twin's states (it was never cloned): a silent bulk replay may then write
   * states in place (see PROJECTIONS[layer].mutate). States handed out by `state()` or `toSnapshot()` are
   * meant to be read or serialised at once, not kept.
   */
  private exclusive = true;
  /** The twin's time: the latest occurredAt applied (ISO), and when the factors in force change next. */
  private clockIso: string | undefined;
  private clockMs = Number.NEGATIVE_INFINITY;
  private nextFactorChange = Number.POSITIVE_INFINITY;

  constructor(city: string) {
    this.city = city;
  }

  /** The city's own state (name, boundary, districts, population, emission factors in force). */
  get info(): Readonly<CityState> {
    return this.cityState;
  }

  /** Whether a CityRegistered event has been applied. */
  get registered(): boolean {
    return this.cityState.name !== undefined;
  }

  /** The twin's time: the latest occurredAt of the events applied (or set with `advanceClock`), ISO. */
  get clock(): string | undefined {
    return this.clockIso;
  }

  /**
   * Applies one recorded event and returns what it changed. Events of unknown types or for unknown entities
   * change nothing (the write side rejects those) but still advance the position.
   */
  apply(event: TwinEvent, target?: ApplyTarget): TwinChange[] {
    return this.applyEvent(event, target, true);
  }

  /** Like `apply`, without building the changes (a replay nobody listens to: no features are made). */
  applySilently(event: TwinEvent, target?: ApplyTarget): void {
    this.applyEvent(event, target, false);
  }

  /**
   * Moves the twin's time forward to `ms` (a validAt query shows the city at that moment): emission factor
   * sets whose validFrom has come are put in force. Never moves it back.
   */
  advanceClock(ms: number, emit = false): TwinChange[] {
    if (!(ms > this.clockMsNow())) return [];
    this.clockMs = ms;
    this.clockIso = new Date(ms).toISOString();
    return ms >= this.nextFactorChange ? this.refreshFactors(emit) : [];
  }

  private applyEvent(event: TwinEvent, target: ApplyTarget | undefined, emit: boolean): TwinChange[] {
    if (event.position !== undefined) this.position = event.position;
    const to = target ?? targetOf(event.stream);
    if (!to) return [];
    const occurredAt = occurredAtOf(event);
    const factorChanges = this.tick(occurredAt, emit);
    if (to.kind === 'city') {
      if (!handlesCity(event.type)) return factorChanges;
      const changes = this.applyCity(event as unknown as CityEvent, occurredAt, emit);
      return factorChanges.length === 0 ? changes : [...factorChanges, ...changes];
    }
    const layer = LAYER_OF_KIND[to.kind];
    if (!handles(layer, event.type)) return factorChanges;
    if (this.bulk) this.bulkChanged = true;
    const env: EventEnvelope = { entityId: to.entityId, occurredAt };
    // A silent bulk replay by a twin that shares no state with a copy writes the frequent events in place.
    const inPlace = !emit && this.bulk && this.exclusive;
    let changes: TwinChange[];
    switch (layer) {
      case 'buildings': {
        const prev = this.recordOf(this.layers.buildings, to);
        if (
          inPlace &&
          prev &&
          this.mutateBuilding(to.entityId, prev, event as unknown as BuildingEvent, env)
        ) {
          changes = [];
          break;
        }
        const next = PROJECTIONS.buildings.evolve(prev?.state, event as unknown as BuildingEvent, env);
        changes = this.putBuilding(to.entityId, prev, next, emit);
        break;
      }
      case 'mobility': {
        const prev = this.recordOf(this.layers.mobility, to);
        if (inPlace && prev && this.mutateMobility(prev, event as unknown as MobilityEvent, env)) {
          changes = [];
          break;
        }
        const next = PROJECTIONS.mobility.evolve(prev?.state, event as unknown as MobilityEvent, env);
        changes = this.putMobility(to.entityId, prev, next, emit);
        break;
      }
      case 'grid': {
        const prev = this.recordOf(this.layers.grid, to);
        if (inPlace && prev && this.mutateGrid(to.entityId, prev, event as unknown as GridEvent, env)) {
          changes = [];
          break;
        }
        const next = PROJECTIONS.grid.evolve(prev?.state, event as unknown as GridEvent, env);
        changes = this.putGrid(to.entityId, prev, next, emit);
        break;
      }
    }
    // A removed entity's record leaves its target as well: a registry's route outlives the entity, and
    // would otherwise keep the record (its state, its feature) for as long as the process runs.
    if (to.record !== undefined && to.record.epoch === RETIRED) to.record = undefined;
    return factorChanges.length === 0 ? changes : [...factorChanges, ...changes];
  }

  /**
   * Advances the clock to an event's occurredAt. Canonical ISO strings (what the write path and the seeds
   * produce) are compared as strings; anything else (an offset) is parsed.
   */
  private tick(occurredAt: string, emit: boolean): TwinChange[] {
    const current = this.clockIso;
    if (current !== undefined && isCanonicalIso(occurredAt) && isCanonicalIso(current)) {
      if (occurredAt <= current) return [];
      this.clockIso = occurredAt;
      this.clockMs = Number.NaN; // parsed when needed
      if (this.nextFactorChange === Number.POSITIVE_INFINITY) return [];
      return this.clockMsNow() >= this.nextFactorChange ? this.refreshFactors(emit) : [];
    }
    const ms = Date.parse(occurredAt);
    return Number.isNaN(ms) ? [] : this.advanceClock(ms, emit);
  }

  /** The clock in ms (parsed lazily after string-compared ticks). */
  private clockMsNow(): number {
    if (Number.isNaN(this.clockMs)) this.clockMs = Date.parse(this.clockIso!);
    return this.clockMs;
  }

  /** Puts the emission factors in force at the twin's time (a validFrom date was reached). */
  private refreshFactors(emit: boolean): TwinChange[] {
    const before = this.cityState;
    this.cityState = withFactorsAt(before, this.clockMsNow());
    this.nextFactorChange = nextFactorChangeMs(this.cityState, this.clockMsNow());
    return this.factorsChanged(before, emit);
  }

  // ---- city -------------------------------------------------------------------------------------------

  private applyCity(event: CityEvent, occurredAt: string, emit: boolean): TwinChange[] {
    const before = this.cityState;
    this.cityState = evolveCity(before, event, occurredAt, this.clockMsNow());
    if (event.type === 'CityRegistered') {
      this.districtBoxes = this.cityState.districts.flatMap((d) =>
        d.boundary ? [{ id: d.id, box: geometryBBox(d.boundary), boundary: d.boundary }] : [],
      );
      return [];
    }
    if (event.type !== 'EmissionFactorsSet') return [];
    this.nextFactorChange = nextFactorChangeMs(this.cityState, this.clockMsNow());
    return this.factorsChanged(before, emit);
  }

  /**
   * New factors in force change every building's CO2e: the KPIs form it from the carrier sums when read,
   * cached features notice the new factors on their next read, so only the live changes are made here.
   */
  private factorsChanged(before: CityState, emit: boolean): TwinChange[] {
    const factors = this.cityState.emissionFactors;
    if (!emit || sameFactors(before.emissionFactors, factors)) return [];
    const changes: TwinChange[] = [];
    for (const [id, entity] of this.layers.buildings) {
      const previous =
        entity.feature !== undefined && entity.featureFactors === before.emissionFactors
          ? entity.feature
          : PROJECTIONS.buildings.feature(entity.state, buildingEnergy(entity.state, before.emissionFactors));
      const feature = this.featureOf('buildings', entity);
      if (feature.properties.co2eTonnesPerYear !== previous.properties.co2eTonnesPerYear) {
        changes.push({ op: 'upsert', layer: 'buildings', id, feature, previous });
      }
    }
    return changes;
  }

  /** The district whose boundary contains the point (for entities registered without one). */
  private locateDistrict(point: [number, number]): string | undefined {
    for (const d of this.districtBoxes) {
      const [x, y] = point;
      if (x < d.box[0] || y < d.box[1] || x > d.box[2] || y > d.box[3]) continue;
      if (booleanPointInPolygon(point, d.boundary)) return d.id;
    }
    return undefined;
  }

  // ---- records ----------------------------------------------------------------------------------------

  /**
   * The entity's record in its layer, taken from the target when the target holds one of this twin's:
   * a record carries this twin's epoch only while it is in this twin's layer (a record is replaced only when
   * it belongs to another epoch, and one removed is retired), so it can be trusted without a lookup. A
   * replay's events each come with their stream's target; finding the record through it instead of the
   * layer's map saves a lookup in a map of tens of thousands of entities per event (~0.8 s of a 1M-event
   * rebuild, profiled).
   */
  private recordOf<S>(layer: Map<string, Entity<S>>, to: EntityTarget): Entity<S> | undefined {
    const held = to.record as Entity<S> | undefined;
    if (held !== undefined && held.epoch === this.epoch) return held;
    const found = layer.get(to.entityId);
    if (found !== undefined && found.epoch === this.epoch) to.record = found as Entity<unknown>;
    return found;
  }

  /** A record this twin removes from its layer belongs to no twin from then on (a target may still hold it). */
  private retire(record: Entity<unknown>): void {
    if (record.epoch === this.epoch) record.epoch = RETIRED;
  }

  /** Writes an entity's record: in place when this twin owns it, else a new record (copy on write). */
  private record<L extends LayerName>(
    layer: L,
    id: string,
    prev: Entity<StateOf[L]> | undefined,
    state: StateOf[L],
    contribution: Contribution,
    district: string | undefined,
    point: [number, number],
  ): Entity<StateOf[L]> {
    if (prev !== undefined && prev.epoch === this.epoch) {
      prev.state = state;
      prev.contribution = contribution;
      prev.district = district;
      prev.point = point;
      prev.feature = undefined;
      prev.featureFactors = undefined;
      return prev;
    }
    const entity: Entity<StateOf[L]> = {
      state,
      contribution,
      district,
      point,
      feature: undefined,
      featureFactors: undefined,
      epoch: this.epoch,
      stale: false,
    };
    (this.layers[layer] as Map<string, Entity<StateOf[L]>>).set(id, entity);
    return entity;
  }

  // ---- in place (bulk replay of a twin that owns all its states) ----------------------------------------

  /** Applies a building event in place if it has that form; false when the caller must evolve instead. */
  private mutateBuilding(
    id: string,
    e: Entity<BuildingState>,
    event: BuildingEvent,
    env: EventEnvelope,
  ): boolean {
    if (e.epoch !== this.epoch) return false;
    const applied = PROJECTIONS.buildings.mutate(e.state, event, env);
    if (applied === undefined) return false;
    if (applied) {
      e.feature = undefined;
      if (!e.stale) {
        e.stale = true;
        this.staleBuildings.add(id);
      }
    }
    return true;
  }

  private mutateMobility(e: Entity<MobilityState>, event: MobilityEvent, env: EventEnvelope): boolean {
    if (e.epoch !== this.epoch) return false;
    const location = e.state.location;
    const applied = PROJECTIONS.mobility.mutate(e.state, event, env);
    if (applied === undefined) return false;
    if (applied) {
      e.feature = undefined;
      // Kind and power are untouched, so is the contribution; coverage is recounted at the end of the replay,
      // and the index takes the points the assets end at then (see endBulk): most move many times.
      if (e.state.location !== location) {
        const [x, y] = e.state.location.coordinates as [number, number];
        e.point = [x, y];
        this.movedInPlace = true;
      }
    }
    return true;
  }

  private mutateGrid(id: string, e: Entity<GridState>, event: GridEvent, env: EventEnvelope): boolean {
    if (e.epoch !== this.epoch) return false;
    const applied = PROJECTIONS.grid.mutate(e.state, event, env);
    if (applied === undefined) return false;
    if (applied) {
      e.feature = undefined;
      this.staleGrid.add(id);
      this.gridTouched = true;
    }
    return true;
  }

  // ---- buildings --------------------------------------------------------------------------------------

  private coverageOf(id: string): Coverage {
    return this.coverage.get(id) ?? NO_COVERAGE;
  }

  private buildingContributionOf(id: string, state: BuildingState): Contribution {
    const energy = buildingEnergy(state, this.cityState.emissionFactors);
    return PROJECTIONS.buildings.contribution(state, energy, this.coverageOf(id));
  }

  private putBuilding(
    id: string,
    prev: Entity<BuildingState> | undefined,
    state: BuildingState | undefined,
    emit: boolean,
  ): TwinChange[] {
    if (state === prev?.state) return [];
    if (!state) {
      if (!prev) return [];
      const previous = emit ? this.featureOf('buildings', prev) : undefined;
      this.layers.buildings.delete(id);
      this.retire(prev);
      this.indexes.buildings.delete(id);
      this.coverage.delete(id);
      this.staleBuildings.delete(id);
      this.kpi.replace(prev.district, prev.contribution, undefined, undefined);
      return previous ? [{ op: 'remove', layer: 'buildings', id, previous }] : [];
    }
    const previous = emit && prev ? this.featureOf('buildings', prev) : undefined;
    const moved = !prev || prev.state.footprint !== state.footprint;
    const point = moved ? representativePoint(state.footprint) : prev.point;
    if (moved) {
      this.indexes.buildings.set(id, geometryBBox(state.footprint));
      if (!this.bulk) this.coverage.set(id, this.countCoverage(point));
    }
    let entity: Entity<BuildingState>;
    if (this.bulk) {
      // The contribution is brought up to date once, at the end of the replay (sums are exact: see kpis.ts).
      if (!prev) {
        entity = this.record('buildings', id, prev, state, ZERO, state.district, point);
        this.kpi.replace(undefined, undefined, state.district, ZERO);
      } else entity = this.record('buildings', id, prev, state, prev.contribution, prev.district, point);
      this.staleBuildings.add(id);
    } else {
      const contribution = this.buildingContributionOf(id, state);
      this.kpi.replace(prev?.district, prev?.contribution, state.district, contribution);
      entity = this.record('buildings', id, prev, state, contribution, state.district, point);
    }
    if (!emit) return [];
    const feature = this.featureOf('buildings', entity);
    return [
      previous
        ? { op: 'upsert', layer: 'buildings', id, feature, previous }
        : { op: 'upsert', layer: 'buildings', id, feature },
    ];
  }

  /** Chargers in service and transit stops within 400 m of a point, through the mobility index. */
  private countCoverage(point: [number, number]): Coverage {
    const found: CoveringAsset[] = [];
    for (const item of this.indexes.mobility.search(radiusBox(point[0], point[1], COVERAGE_RADIUS_M))) {
      const asset = this.layers.mobility.get(item.id);
      const covering = asset && coveringAssetOf(asset);
      if (covering) found.push(covering);
    }
    return coverageAt(point[0], point[1], found);
  }

  /** Sets a building's coverage and patches only the coverage fields of its contribution. */
  private setCoverage(id: string, coverage: Coverage, entity = this.layers.buildings.get(id)): void {
    if (!entity) return;
    const old = this.coverageOf(id);
    if (old.chargers === coverage.chargers && old.transitStops === coverage.transitStops) return;
    if (coverage.chargers === 0 && coverage.transitStops === 0) this.coverage.delete(id);
    else this.coverage.set(id, coverage);
    // A stale contribution is recomputed (with this coverage) at the end of the bulk replay.
    if (entity.state.use !== 'residential' || this.staleBuildings.has(id)) return;
    const contribution = entity.contribution.slice();
    contribution[F.residentialNearCharger] = coverage.chargers > 0 ? KPI_SCALE : 0;
    contribution[F.residentialNearTransitStop] = coverage.transitStops > 0 ? KPI_SCALE : 0;
    this.kpi.replace(entity.district, entity.contribution, entity.district, contribution);
    const feature = entity.feature;
    const featureFactors = entity.featureFactors;
    const next = this.record(
      'buildings',
      id,
      entity,
      entity.state,
      contribution,
      entity.district,
      entity.point,
    );
    // Coverage is not part of a feature: the cached one stays valid.
    next.feature = feature;
    next.featureFactors = featureFactors;
  }

  /** A charger or stop started (+1) or stopped (-1) covering the buildings within 400 m of a point. */
  private shiftCoverage(kind: string, point: [number, number], delta: 1 | -1): void {
    const field = kind === 'ev-charger' ? 'chargers' : 'transitStops';
    for (const item of this.indexes.buildings.search(radiusBox(point[0], point[1], COVERAGE_RADIUS_M))) {
      const b = this.layers.buildings.get(item.id);
      if (!b || distanceM(point[0], point[1], b.point[0], b.point[1]) > COVERAGE_RADIUS_M) continue;
      const c = this.coverageOf(item.id);
      this.setCoverage(item.id, { ...c, [field]: c[field] + delta });
    }
  }

  // ---- mobility ---------------------------------------------------------------------------------------

  private putMobility(
    id: string,
    prev: Entity<MobilityState> | undefined,
    state: MobilityState | undefined,
    emit: boolean,
  ): TwinChange[] {
    if (state === prev?.state) return [];
    if (!state) {
      if (!prev) return [];
      const previous = emit ? this.featureOf('mobility', prev) : undefined;
      this.layers.mobility.delete(id);
      this.retire(prev);
      this.indexes.mobility.delete(id);
      this.kpi.replace(prev.district, prev.contribution, undefined, undefined);
      if (!this.bulk && coversResidents(prev.state)) this.shiftCoverage(prev.state.kind, prev.point, -1);
      return previous ? [{ op: 'remove', layer: 'mobility', id, previous }] : [];
    }
    const previous = emit && prev ? this.featureOf('mobility', prev) : undefined;
    const moved = !prev || prev.state.location !== state.location;
    const point: [number, number] = moved
      ? [state.location.coordinates[0]!, state.location.coordinates[1]!]
      : prev.point;
    const district = prev ? prev.district : (state.district ?? this.locateDistrict(point));
    const contribution =
      prev && prev.state.kind === state.kind && prev.state.powerKw === state.powerKw
        ? prev.contribution
        : PROJECTIONS.mobility.contribution(state);
    if (contribution !== prev?.contribution)
      this.kpi.replace(prev?.district, prev?.contribution, district, contribution);
    const covered = prev !== undefined && coversResidents(prev.state);
    const prevPoint = prev?.point;
    const prevKind = prev?.state.kind;
    const entity = this.record('mobility', id, prev, state, contribution, district, point);
    if (moved) this.indexes.mobility.set(id, pointBox(point));
    if (!this.bulk) {
      const covers = coversResidents(state);
      if (covered !== covers || (moved && covers)) {
        if (covered) this.shiftCoverage(prevKind!, prevPoint!, -1);
        if (covers) this.shiftCoverage(state.kind, point, 1);
      }
    }
    if (!emit) return [];
    const feature = this.featureOf('mobility', entity);
    return [
      previous
        ? { op: 'upsert', layer: 'mobility', id, feature, previous }
        : { op: 'upsert', layer: 'mobility', id, feature },
    ];
  }

  // ---- grid -------------------------------------------------------------------------------------------

  private putGrid(
    id: string,
    prev: Entity<GridState> | undefined,
    state: GridState | undefined,
    emit: boolean,
  ): TwinChange[] {
    if (state === prev?.state) return [];
    if (!state) {
      if (!prev) return [];
      const previous = emit ? this.featureOf('grid', prev) : undefined;
      this.layers.grid.delete(id);
      this.retire(prev);
      this.indexes.grid.delete(id);
      this.staleGrid.delete(id);
      this.kpi.replace(prev.district, prev.contribution, undefined, undefined);
      if (this.bulk) this.gridTouched = true;
      else this.updatePeak(id, prev.district, null);
      return previous ? [{ op: 'remove', layer: 'grid', id, previous }] : [];
    }
    const previous = emit && prev ? this.featureOf('grid', prev) : undefined;
    const point = prev ? prev.point : representativePoint(state.geometry);
    const district = prev ? prev.district : (state.district ?? this.locateDistrict(point));
    if (!prev) this.indexes.grid.set(id, geometryBBox(state.geometry));
    let entity: Entity<GridState>;
    if (this.bulk) {
      // Contribution and peaks are brought up to date once, at the end of the replay.
      if (!prev) this.kpi.replace(undefined, undefined, district, ZERO);
      entity = this.record('grid', id, prev, state, prev ? prev.contribution : ZERO, district, point);
      this.staleGrid.add(id);
      this.gridTouched = true;
    } else {
      const contribution = PROJECTIONS.grid.contribution(state);
      this.kpi.replace(prev?.district, prev?.contribution, district, contribution);
      entity = this.record('grid', id, prev, state, contribution, district, point);
      this.updatePeak(id, district, peakUtilisationOf(state));
    }
    if (!emit) return [];
    const feature = this.featureOf('grid', entity);
    return [
      previous
        ? { op: 'upsert', layer: 'grid', id, feature, previous }
        : { op: 'upsert', layer: 'grid', id, feature },
    ];
  }

  /** Keeps the highest peak utilisation per area (ties: the smaller id); a lowered/removed max is rescanned lazily. */
  private updatePeak(id: string, district: string | undefined, value: number | null): void {
    for (const area of district === undefined ? [''] : ['', district]) {
      if (this.dirtyPeaks.has(area)) continue;
      const current = this.peaks.get(area) ?? null;
      if (current && current.elementId === id) {
        if (value !== null && value >= current.peakUtilisation) {
          this.peaks.set(area, { elementId: id, peakUtilisation: value });
        } else this.dirtyPeaks.add(area);
      } else if (value !== null && (!current || better(value, id, current))) {
        this.peaks.set(area, { elementId: id, peakUtilisation: value });
      }
    }
  }

  private peakOf(area: string): PeakElement | null {
    if (this.dirtyPeaks.has(area)) {
      let best: PeakElement | null = null;
      for (const [id, e] of this.layers.grid) {
        if (area !== '' && e.district !== area) continue;
        const v = peakUtilisationOf(e.state);
        if (v !== null && (!best || better(v, id, best))) best = { elementId: id, peakUtilisation: v };
      }
      this.peaks.set(area, best);
      this.dirtyPeaks.delete(area);
    }
    const p = this.peaks.get(area) ?? null;
    return p && { elementId: p.elementId, peakUtilisation: Math.round(p.peakUtilisation * 10_000) / 10_000 };
  }

  // ---- bulk replay ------------------------------------------------------------------------------------

  /**
   * Defers for a long replay what is cheaper done once at its end: the spatial indexes, the 400 m coverage,
   * and the KPI contributions of buildings and grid elements; `endBulk()` brings all of them up to date.
   */
  beginBulk(): void {
    if (this.bulk) return;
    this.bulk = true;
    for (const index of Object.values(this.indexes)) index.defer();
  }

  /** Rebuilds what `beginBulk()` deferred (nothing when no entity changed meanwhile). Idempotent. */
  endBulk(): void {
    if (!this.bulk) return;
    this.bulk = false;
    if (this.movedInPlace) {
      // Unchanged entries are skipped by the index; the moved ones are written once, at their last point.
      for (const [id, e] of this.layers.mobility) this.indexes.mobility.set(id, pointBox(e.point));
      this.movedInPlace = false;
    }
    for (const index of Object.values(this.indexes)) index.resume();
    if (this.bulkChanged) this.recomputeCoverage();
    this.bulkChanged = false;
    this.settleContributions();
  }

  get inBulk(): boolean {
    return this.bulk;
  }

  /** Brings the stale contributions up to date (the coverage is current by now). */
  private settleContributions(): void {
    for (const id of this.staleBuildings) {
      const e = this.layers.buildings.get(id);
      if (!e) continue;
      const contribution = this.buildingContributionOf(id, e.state);
      this.kpi.replace(e.district, e.contribution, e.state.district, contribution);
      const feature = e.feature;
      const featureFactors = e.featureFactors;
      const next = this.record('buildings', id, e, e.state, contribution, e.state.district, e.point);
      next.feature = feature;
      next.featureFactors = featureFactors;
      next.stale = false;
    }
    this.staleBuildings.clear();
    for (const id of this.staleGrid) {
      const e = this.layers.grid.get(id);
      if (!e) continue;
      const contribution = PROJECTIONS.grid.contribution(e.state);
      this.kpi.replace(e.district, e.contribution, e.district, contribution);
      const feature = e.feature;
      const next = this.record('grid', id, e, e.state, contribution, e.district, e.point);
      next.feature = feature;
    }
    this.staleGrid.clear();
    if (this.gridTouched) this.markPeaksDirty();
    this.gridTouched = false;
  }

  /**
   * Recounts every building's coverage and patches the buildings whose count changed. From each building
   * inwards, over a tree of the covering assets alone (chargers in service and transit stops, a few thousand,
   * small enough to stay in cache), counted by `coverageAt` as `countCoverage` counts: counting outwards from the
   * assets through the buildings' tree cost a map lookup per building found (~60 % of this method's time on
   * a 1M-event replay), and the mobility tree would also return every vehicle nearby.
   */
  private recomputeCoverage(): void {
    const covering: CoveringAsset[] = [];
    for (const asset of this.layers.mobility.values()) {
      const c = coveringAssetOf(asset);
      if (c) covering.push(c);
    }
    const tree = new RBush<CoveringAsset>(16).load(covering);
    const box = { minX: 0, minY: 0, maxX: 0, maxY: 0 };
    for (const [id, building] of this.layers.buildings) {
      const [x, y] = building.point;
      [box.minX, box.minY, box.maxX, box.maxY] = radiusBox(x, y, COVERAGE_RADIUS_M);
      this.setCoverage(id, coverageAt(x, y, tree.search(box)), building);
    }
  }

  // ---- reads ------------------------------------------------------------------------------------------

  /** One entity by id, with its layer (buildings, then mobility, then grid). */
  get(id: string): { layer: LayerName; feature: TwinFeature } | undefined {
    for (const layer of ['buildings', 'mobility', 'grid'] as const) {
      const e = this.layers[layer].get(id);
      if (e) return { layer, feature: this.featureOf(layer, e as Entity<never>) };
    }
    return undefined;
  }

  /** The features of a layer, in insertion order. */
  *features(layer: LayerName): IterableIterator<TwinFeature> {
    for (const e of this.layers[layer].values()) yield this.featureOf(layer, e as Entity<never>);
  }

  /** The features of a layer by id (a copy of the map: O(n)). */
  layer(layer: LayerName): ReadonlyMap<string, TwinFeature> {
    const out = new Map<string, TwinFeature>();
    for (const [id, e] of this.layers[layer]) out.set(id, this.featureOf(layer, e as Entity<never>));
    return out;
  }

  /**
   * An entity's feature, made from its state on first use and cached on its record (a building's also with
   * the factors it was made under: it is made again once other factors are in force). Caching on a record
   * shared with a clone is safe: the feature is a function of the state and the factors it is checked with.
   */
  private featureOf<L extends LayerName>(layer: L, e: Entity<StateOf[L]>): TwinFeature {
    switch (layer) {
      case 'buildings': {
        const factors = this.cityState.emissionFactors;
        if (e.feature === undefined || e.featureFactors !== factors) {
          const s = e.state as BuildingState;
          e.feature = PROJECTIONS.buildings.feature(s, buildingEnergy(s, factors));
          e.featureFactors = factors;
        }
        return e.feature;
      }
      case 'mobility':
        e.feature ??= PROJECTIONS.mobility.feature(e.state as MobilityState);
        return e.feature;
      default:
        e.feature ??= PROJECTIONS.grid.feature(e.state as GridState);
        return e.feature;
    }
  }

  /** The projection state of an entity (for history views and scenario rules). */
  state<L extends LayerName>(layer: L, id: string): StateOf[L] | undefined {
    return (this.layers[layer] as Map<string, Entity<StateOf[L]>>).get(id)?.state;
  }

  /** Chargers in service and transit stops within 400 m of a building. */
  coverageOfBuilding(id: string): Coverage | undefined {
    if (this.bulk) this.endBulk();
    return this.layers.buildings.has(id) ? this.coverageOf(id) : undefined;
  }

  /** Entity counts per layer. */
  counts(): Record<LayerName, number> {
    return {
      buildings: this.layers.buildings.size,
      mobility: this.layers.mobility.size,
      grid: this.layers.grid.size,
    };
  }

  /** Spatial and attribute query over a layer (see src/twin/query.ts). */
  query(layer: LayerName, q: LayerQuery): QueryResult {
    if (this.bulk) this.endBulk();
    return queryLayer(
      layer,
      q,
      this.indexes[layer],
      (id) => {
        const e = this.layers[layer].get(id);
        return e ? this.featureOf(layer, e as Entity<never>) : undefined;
      },
      () => this.features(layer),
    );
  }

  /** KPIs of the city and of each of its districts (incrementally kept sums, shaped on read). */
  kpis(): { city: KpiValues; districts: Record<string, KpiValues> } {
    if (this.bulk) this.endBulk();
    const factors = this.cityState.emissionFactors;
    const population = new Map(this.cityState.districts.map((d) => [d.id, d.population ?? null]));
    const districts: Record<string, KpiValues> = {};
    const ids = new Set([...this.cityState.districts.map((d) => d.id), ...this.kpi.districtIds()]);
    for (const id of [...ids].sort()) {
      districts[id] = kpiValues(this.kpi.district(id), population.get(id) ?? null, this.peakOf(id), factors);
    }
    return {
      city: kpiValues(this.kpi.city(), this.cityState.population || null, this.peakOf(''), factors),
      districts,
    };
  }

  // ---- snapshots --------------------------------------------------------------------------------------

  /** A plain, JSON-serialisable image of the twin (features, indexes and KPI sums are derived again on restore). */
  toSnapshot(): CityTwinSnapshot {
    const dump = <S>(m: Map<string, Entity<S>>): Array<[string, S, string | null, number[]]> =>
      [...m].map(([id, e]) => [id, e.state, e.district ?? null, e.point]);
    return {
      version: CITY_TWIN_SNAPSHOT_VERSION,
      city: this.city,
      position: this.position === undefined ? null : this.position.toString(),
      cityState: this.cityState,
      buildings: dump(this.layers.buildings),
      mobility: dump(this.layers.mobility),
      grid: dump(this.layers.grid),
      coverage: [...this.coverage].map(([id, c]) => [id, c.chargers, c.transitStops]),
      clock: this.clockIso ?? null,
      deferred: this.bulk,
    };
  }

  /**
   * Restores a twin from a snapshot: features and contributions are derived again from the states (pure),
   * and the KPI sums added up again (exact integers: the same sums the twin had), indexes are bulk-loaded.
   */
  static fromSnapshot(s: CityTwinSnapshot): CityTwin {
    if (s.version !== CITY_TWIN_SNAPSHOT_VERSION) {
      throw new Error(`Unsupported city twin snapshot version ${String(s.version)}`);
    }
    const twin = new CityTwin(s.city);
    for (const index of Object.values(twin.indexes)) index.defer();
    twin.position = s.position === null ? undefined : BigInt(s.position);
    twin.cityState = restoreCityState(s.cityState);
    if (typeof s.clock === 'string') {
      twin.clockIso = s.clock;
      twin.clockMs = Date.parse(s.clock);
    }
    twin.nextFactorChange = nextFactorChangeMs(twin.cityState, twin.clockMs);
    twin.districtBoxes = twin.cityState.districts.flatMap((d) =>
      d.boundary ? [{ id: d.id, box: geometryBBox(d.boundary), boundary: d.boundary }] : [],
    );
    for (const [id, chargers, transitStops] of s.coverage) twin.coverage.set(id, { chargers, transitStops });
    const epoch = twin.epoch;
    const entity = <S>(state: S, contribution: Contribution, district: string | null, point: number[]) => ({
      state,
      contribution,
      district: district ?? undefined,
      point: point as [number, number],
      feature: undefined,
      featureFactors: undefined,
      epoch,
      stale: false,
    });
    for (const [id, saved, district, point] of s.buildings) {
      const state = buildingShape(saved);
      const e = entity(state, twin.buildingContributionOf(id, state), district, point);
      twin.layers.buildings.set(id, e);
      twin.kpi.replace(undefined, undefined, e.district, e.contribution);
      twin.indexes.buildings.set(id, geometryBBox(state.footprint));
    }
    for (const [id, saved, district, point] of s.mobility) {
      const state = mobilityShape(saved);
      const e = entity(state, PROJECTIONS.mobility.contribution(state), district, point);
      twin.layers.mobility.set(id, e);
      twin.kpi.replace(undefined, undefined, e.district, e.contribution);
      twin.indexes.mobility.set(id, pointBox(point));
    }
    for (const [id, saved, district, point] of s.grid) {
      const state = gridShape(saved);
      const e = entity(state, PROJECTIONS.grid.contribution(state), district, point);
      twin.layers.grid.set(id, e);
      twin.kpi.replace(undefined, undefined, e.district, e.contribution);
      twin.indexes.grid.set(id, geometryBBox(state.geometry));
    }
    twin.markPeaksDirty();
    for (const index of Object.values(twin.indexes)) index.rebuild();
    if (s.deferred) {
      // Taken mid-replay: the saved coverage is not current yet.
      twin.beginBulk();
      twin.bulkChanged = true;
    }
    return twin;
  }

  private markPeaksDirty(): void {
    this.peaks.clear();
    this.dirtyPeaks = new Set(['', ...this.cityState.districts.map((d) => d.id), ...this.kpi.districtIds()]);
    for (const e of this.layers.grid.values()) if (e.district !== undefined) this.dirtyPeaks.add(e.district);
  }

  /**
   * A cheap, independent copy: entity records and states are shared and, from now on, written by neither twin
   * (both take a new epoch, so each copies a record before its first write); maps and indexes are copied.
   */
  clone(): CityTwin {
    const twin = new CityTwin(this.city);
    this.epoch = ++epochs;
    this.exclusive = false;
    twin.exclusive = false;
    twin.position = this.position;
    twin.cityState = this.cityState;
    twin.districtBoxes = this.districtBoxes;
    twin.clockIso = this.clockIso;
    twin.clockMs = this.clockMs;
    twin.nextFactorChange = this.nextFactorChange;
    twin.layers = {
      buildings: new Map(this.layers.buildings),
      mobility: new Map(this.layers.mobility),
      grid: new Map(this.layers.grid),
    };
    for (const layer of ['buildings', 'mobility', 'grid'] as const)
      twin.indexes[layer] = this.indexes[layer].clone();
    twin.coverage = new Map(this.coverage);
    twin.kpi = this.kpi.clone();
    twin.peaks = new Map(this.peaks);
    twin.dirtyPeaks = new Set(this.dirtyPeaks);
    twin.staleBuildings = new Set(this.staleBuildings);
    twin.staleGrid = new Set(this.staleGrid);
    twin.gridTouched = this.gridTouched;
    twin.bulkChanged = this.bulkChanged;
    twin.movedInPlace = this.movedInPlace;
    if (this.bulk) {
      twin.bulk = true;
      for (const index of Object.values(twin.indexes)) index.defer();
    }
    return twin;
  }
}

/** The zero contribution of an entity whose own is not computed yet (bulk replay). Never written. */
const ZERO: Contribution = Object.freeze(new Array<number>(KPI_WIDTH).fill(0)) as Contribution;

const sameFactors = (a: CarrierValues, b: CarrierValues) =>
  a === b || (Object.keys(a) as Array<keyof CarrierValues>).every((c) => a[c] === b[c]);

/** A saved city state, with the factor sets of snapshots written before they were kept (one set in force). */
function restoreCityState(saved: CityState): CityState {
  if (Array.isArray(saved.emissionFactorSets)) return saved;
  // Those factors were in force when the snapshot was taken: one set, in force from the start.
  const set = { factors: { ...saved.emissionFactors }, source: saved.emissionFactorsSource };
  return { ...saved, emissionFactorSets: [set] };
}

const better = (value: number, id: string, than: PeakElement) =>
  value > than.peakUtilisation || (value === than.peakUtilisation && id < than.elementId);

function targetOf(stream: string): ApplyTarget | undefined {
  const parsed = parseStream(stream);
  if (parsed.kind === 'city') return { kind: 'city' };
  if (parsed.kind === 'building' || parsed.kind === 'mobility' || parsed.kind === 'grid') {
    return { kind: parsed.kind, entityId: parsed.entityId };
  }
  return undefined;
}

/** A new, empty twin of a city. */
export function createCityTwin(city: string): CityTwin {
  return new CityTwin(city);
}
