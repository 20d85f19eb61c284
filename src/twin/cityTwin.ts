import { booleanPointInPolygon } from '@turf/turf';
import type { BuildingEnergy, BuildingState } from '../../projections/buildings.js';
import { buildingEnergy, buildingShape } from '../../projections/buildings.js';
import { type CityState, emptyCity, evolveCity } from '../../projections/city.js';
import type { EventEnvelope } from '../../projections/envelope.js';
import { type GridState, gridShape } from '../../projections/grid.js';
import {
  COVERAGE_RADIUS_M,
  type Contribution,
  type Coverage,
  F,
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
import { type BBox, distanceM, geometryBBox, radiusBox, representativePoint } from './geo.js';
import { KpiAccumulator } from './kpiAccumulator.js';
import { type LayerQuery, type QueryResult, queryLayer } from './query.js';
import { SpatialIndex } from './spatialIndex.js';

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
export type ApplyTarget = { kind: EntityKind; entityId: string } | { kind: 'city' };

/** One entity of a layer: its projection state, its feature, its KPI contribution and where it counts. */
export interface Entity<S> {
  state: S;
  /** Made on first read (or when a change is reported), then cached: the record itself is never replaced in place. */
  feature?: TwinFeature;
  contribution: Contribution;
  district: string | undefined;
  /** Representative point (centroid of a footprint, the point of an asset) for 400 m coverage. */
  point: [number, number];
}

type StateOf = { buildings: BuildingState; mobility: MobilityState; grid: GridState };
type Layers = { [L in LayerName]: Map<string, Entity<StateOf[L]>> };

const COVERAGE_KINDS = new Set(['ev-charger', 'transit-stop']);
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
  kpis: ReturnType<KpiAccumulator['toJSON']>;
  /** Taken during a bulk replay: coverage is not yet recounted; the restored twin finishes it on first read. */
  deferred: boolean;
}

const occurredAtOf = (event: TwinEvent): string => {
  const meta = event.metadata as { occurredAt?: unknown } | undefined;
  return typeof meta?.occurredAt === 'string'
    ? meta.occurredAt
    : (event.recordedAt ?? '1970-01-01T00:00:00.000Z');
};

/**
 * The twin of one city: three layers of GeoJSON features, a spatial index per layer, and KPIs kept
 * incrementally. `apply` is the only way in; it is deterministic, so a snapshot plus a tail equals a replay.
 */
export class CityTwin {
  readonly city: string;
  /** Global position of the last applied event. */
  position: bigint | undefined;
  private cityState: CityState = emptyCity();
  private readonly layers: Layers = { buildings: new Map(), mobility: new Map(), grid: new Map() };
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
  private districtBoxes: Array<{ id: string; box: BBox; boundary: NonNullable<CityState['boundary']> }> = [];

  constructor(city: string) {
    this.city = city;
  }

  /** The city's own state (name, boundary, districts, population, emission factors). */
  get info(): Readonly<CityState> {
    return this.cityState;
  }

  /** Whether a CityRegistered event has been applied. */
  get registered(): boolean {
    return this.cityState.name !== undefined;
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

  private applyEvent(event: TwinEvent, target: ApplyTarget | undefined, emit: boolean): TwinChange[] {
    if (event.position !== undefined) this.position = event.position;
    const to = target ?? targetOf(event.stream);
    if (!to) return [];
    const occurredAt = occurredAtOf(event);
    if (to.kind === 'city') {
      if (!handlesCity(event.type)) return [];
      return this.applyCity(event as unknown as CityEvent, occurredAt, emit);
    }
    const layer = LAYER_OF_KIND[to.kind];
    if (!handles(layer, event.type)) return [];
    const env: EventEnvelope = { entityId: to.entityId, occurredAt };
    switch (layer) {
      case 'buildings': {
        const prev = this.layers.buildings.get(to.entityId);
        const next = PROJECTIONS.buildings.evolve(prev?.state, event as unknown as BuildingEvent, env);
        return this.putBuilding(to.entityId, prev, next, emit);
      }
      case 'mobility': {
        const prev = this.layers.mobility.get(to.entityId);
        const next = PROJECTIONS.mobility.evolve(prev?.state, event as unknown as MobilityEvent, env);
        return this.putMobility(to.entityId, prev, next, emit);
      }
      case 'grid': {
        const prev = this.layers.grid.get(to.entityId);
        const next = PROJECTIONS.grid.evolve(prev?.state, event as unknown as GridEvent, env);
        return this.putGrid(to.entityId, prev, next, emit);
      }
    }
  }

  // ---- city -------------------------------------------------------------------------------------------

  private applyCity(event: CityEvent, occurredAt: string, emit: boolean): TwinChange[] {
    const before = this.cityState;
    this.cityState = evolveCity(before, event, occurredAt);
    if (event.type === 'CityRegistered') {
      this.districtBoxes = this.cityState.districts.flatMap((d) =>
        d.boundary ? [{ id: d.id, box: geometryBBox(d.boundary), boundary: d.boundary }] : [],
      );
      return [];
    }
    // New emission factors change every building's CO2e.
    const changes: TwinChange[] = [];
    for (const [id, entity] of this.layers.buildings) {
      const energy = buildingEnergy(entity.state, this.cityState.emissionFactors);
      const contribution = PROJECTIONS.buildings.contribution(entity.state, energy, this.coverageOf(id));
      this.kpi.replace(entity.district, entity.contribution, entity.district, contribution);
      // A new record: features cached on the old one were made under the old factors.
      const next: Entity<BuildingState> = {
        state: entity.state,
        contribution,
        district: entity.district,
        point: entity.point,
      };
      this.layers.buildings.set(id, next);
      if (!emit) continue;
      const previous =
        entity.feature ??
        PROJECTIONS.buildings.feature(entity.state, buildingEnergy(entity.state, before.emissionFactors));
      const feature = PROJECTIONS.buildings.feature(entity.state, energy);
      next.feature = feature;
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

  // ---- buildings --------------------------------------------------------------------------------------

  private coverageOf(id: string): Coverage {
    return this.coverage.get(id) ?? NO_COVERAGE;
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
      this.indexes.buildings.delete(id);
      this.coverage.delete(id);
      this.kpi.replace(prev.district, prev.contribution, undefined, undefined);
      return previous ? [{ op: 'remove', layer: 'buildings', id, previous }] : [];
    }
    const moved = !prev || prev.state.footprint !== state.footprint;
    const point = moved ? representativePoint(state.footprint) : prev.point;
    if (moved) {
      this.indexes.buildings.set(id, geometryBBox(state.footprint));
      if (!this.bulk) this.coverage.set(id, this.countCoverage(point));
    }
    const energy: BuildingEnergy = buildingEnergy(state, this.cityState.emissionFactors);
    const contribution = PROJECTIONS.buildings.contribution(state, energy, this.coverageOf(id));
    this.kpi.replace(prev?.district, prev?.contribution, state.district, contribution);
    const entity: Entity<BuildingState> = { state, contribution, district: state.district, point };
    this.layers.buildings.set(id, entity);
    if (!emit) return [];
    const feature = PROJECTIONS.buildings.feature(state, energy);
    entity.feature = feature;
    return [
      prev
        ? { op: 'upsert', layer: 'buildings', id, feature, previous: this.featureOf('buildings', prev) }
        : { op: 'upsert', layer: 'buildings', id, feature },
    ];
  }

  /** Chargers and transit stops within 400 m of a point, through the mobility index. */
  private countCoverage(point: [number, number]): Coverage {
    let chargers = 0;
    let transitStops = 0;
    for (const item of this.indexes.mobility.search(radiusBox(point[0], point[1], COVERAGE_RADIUS_M))) {
      const asset = this.layers.mobility.get(item.id);
      if (!asset || !COVERAGE_KINDS.has(asset.state.kind)) continue;
      if (distanceM(point[0], point[1], asset.point[0], asset.point[1]) > COVERAGE_RADIUS_M) continue;
      if (asset.state.kind === 'ev-charger') chargers++;
      else transitStops++;
    }
    return chargers === 0 && transitStops === 0 ? NO_COVERAGE : { chargers, transitStops };
  }

  /** Sets a building's coverage and patches only the coverage fields of its contribution. */
  private setCoverage(id: string, coverage: Coverage): void {
    const entity = this.layers.buildings.get(id);
    if (!entity) return;
    const old = this.coverageOf(id);
    if (old.chargers === coverage.chargers && old.transitStops === coverage.transitStops) return;
    if (coverage.chargers === 0 && coverage.transitStops === 0) this.coverage.delete(id);
    else this.coverage.set(id, coverage);
    if (entity.state.use !== 'residential') return;
    const contribution = entity.contribution.slice();
    contribution[F.residentialNearCharger] = coverage.chargers > 0 ? 1 : 0;
    contribution[F.residentialNearTransitStop] = coverage.transitStops > 0 ? 1 : 0;
    this.kpi.replace(entity.district, entity.contribution, entity.district, contribution);
    this.layers.buildings.set(id, { ...entity, contribution });
  }

  /** A charger or stop appeared (+1) or disappeared (-1) at a point: adjust the buildings around it. */
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
      this.indexes.mobility.delete(id);
      this.kpi.replace(prev.district, prev.contribution, undefined, undefined);
      if (!this.bulk && COVERAGE_KINDS.has(prev.state.kind))
        this.shiftCoverage(prev.state.kind, prev.point, -1);
      return previous ? [{ op: 'remove', layer: 'mobility', id, previous }] : [];
    }
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
    const entity: Entity<MobilityState> = { state, contribution, district, point };
    this.layers.mobility.set(id, entity);
    if (moved) {
      this.indexes.mobility.set(id, [point[0], point[1], point[0], point[1]]);
      if (!this.bulk && COVERAGE_KINDS.has(state.kind)) {
        if (prev) this.shiftCoverage(prev.state.kind, prev.point, -1);
        this.shiftCoverage(state.kind, point, 1);
      }
    }
    if (!emit) return [];
    const feature = this.featureOf('mobility', entity);
    return [
      prev
        ? { op: 'upsert', layer: 'mobility', id, feature, previous: this.featureOf('mobility', prev) }
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
      this.indexes.grid.delete(id);
      this.kpi.replace(prev.district, prev.contribution, undefined, undefined);
      this.updatePeak(id, prev.district, null);
      return previous ? [{ op: 'remove', layer: 'grid', id, previous }] : [];
    }
    const point = prev ? prev.point : representativePoint(state.geometry);
    const district = prev ? prev.district : (state.district ?? this.locateDistrict(point));
    if (!prev) this.indexes.grid.set(id, geometryBBox(state.geometry));
    const contribution = PROJECTIONS.grid.contribution(state);
    this.kpi.replace(prev?.district, prev?.contribution, district, contribution);
    const entity: Entity<GridState> = { state, contribution, district, point };
    this.layers.grid.set(id, entity);
    this.updatePeak(id, district, peakUtilisationOf(state));
    if (!emit) return [];
    const feature = this.featureOf('grid', entity);
    return [
      prev
        ? { op: 'upsert', layer: 'grid', id, feature, previous: this.featureOf('grid', prev) }
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

  /** Defers the spatial indexes and the 400 m coverage for a long replay; `endBulk()` rebuilds both once. */
  beginBulk(): void {
    if (this.bulk) return;
    this.bulk = true;
    for (const index of Object.values(this.indexes)) index.defer();
  }

  /** Rebuilds what `beginBulk()` deferred. Idempotent. */
  endBulk(): void {
    if (!this.bulk) return;
    this.bulk = false;
    for (const index of Object.values(this.indexes)) index.rebuild();
    this.recomputeCoverage();
  }

  get inBulk(): boolean {
    return this.bulk;
  }

  /** Recounts coverage from the chargers and stops outwards and patches the buildings whose count changed. */
  private recomputeCoverage(): void {
    const counts = new Map<string, { chargers: number; transitStops: number }>();
    for (const asset of this.layers.mobility.values()) {
      if (!COVERAGE_KINDS.has(asset.state.kind)) continue;
      const field = asset.state.kind === 'ev-charger' ? 'chargers' : 'transitStops';
      const [x, y] = asset.point;
      for (const item of this.indexes.buildings.search(radiusBox(x, y, COVERAGE_RADIUS_M))) {
        const b = this.layers.buildings.get(item.id);
        if (!b || distanceM(x, y, b.point[0], b.point[1]) > COVERAGE_RADIUS_M) continue;
        let c = counts.get(item.id);
        if (!c) {
          c = { chargers: 0, transitStops: 0 };
          counts.set(item.id, c);
        }
        c[field]++;
      }
    }
    for (const id of [...this.coverage.keys()]) if (!counts.has(id)) this.setCoverage(id, NO_COVERAGE);
    // Patch in layer order so the floating-point-free integer updates happen in a fixed order.
    for (const id of this.layers.buildings.keys()) {
      const c = counts.get(id);
      if (c) this.setCoverage(id, c);
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

  /** An entity's feature, made from its state on first use and cached on its (immutable) record. */
  private featureOf<L extends LayerName>(layer: L, e: Entity<StateOf[L]>): TwinFeature {
    if (e.feature === undefined) {
      switch (layer) {
        case 'buildings': {
          const s = e.state as BuildingState;
          e.feature = PROJECTIONS.buildings.feature(s, buildingEnergy(s, this.cityState.emissionFactors));
          break;
        }
        case 'mobility':
          e.feature = PROJECTIONS.mobility.feature(e.state as MobilityState);
          break;
        default:
          e.feature = PROJECTIONS.grid.feature(e.state as GridState);
      }
    }
    return e.feature;
  }

  /** The projection state of an entity (for history views and scenario rules). */
  state<L extends LayerName>(layer: L, id: string): StateOf[L] | undefined {
    return (this.layers[layer] as Map<string, Entity<StateOf[L]>>).get(id)?.state;
  }

  /** Chargers and transit stops within 400 m of a building. */
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
    const population = new Map(this.cityState.districts.map((d) => [d.id, d.population ?? null]));
    const districts: Record<string, KpiValues> = {};
    const ids = new Set([...this.cityState.districts.map((d) => d.id), ...this.kpi.districtIds()]);
    for (const id of [...ids].sort()) {
      districts[id] = kpiValues(this.kpi.district(id), population.get(id) ?? null, this.peakOf(id));
    }
    return {
      city: kpiValues(this.kpi.city(), this.cityState.population || null, this.peakOf('')),
      districts,
    };
  }

  // ---- snapshots --------------------------------------------------------------------------------------

  /** A plain, JSON-serialisable image of the twin (features and indexes are derived again on restore). */
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
      kpis: this.kpi.toJSON(),
      deferred: this.bulk,
    };
  }

  /**
   * Restores a twin from a snapshot: features and contributions are derived again from the states (pure),
   * the KPI sums are taken as saved so that later additions continue bit-for-bit, indexes are bulk-loaded.
   */
  static fromSnapshot(s: CityTwinSnapshot): CityTwin {
    if (s.version !== CITY_TWIN_SNAPSHOT_VERSION) {
      throw new Error(`Unsupported city twin snapshot version ${String(s.version)}`);
    }
    const twin = new CityTwin(s.city);
    for (const index of Object.values(twin.indexes)) index.defer();
    twin.position = s.position === null ? undefined : BigInt(s.position);
    twin.cityState = s.cityState;
    twin.districtBoxes = s.cityState.districts.flatMap((d) =>
      d.boundary ? [{ id: d.id, box: geometryBBox(d.boundary), boundary: d.boundary }] : [],
    );
    for (const [id, chargers, transitStops] of s.coverage) twin.coverage.set(id, { chargers, transitStops });
    for (const [id, saved, district, point] of s.buildings) {
      const state = buildingShape(saved);
      const energy = buildingEnergy(state, twin.cityState.emissionFactors);
      twin.layers.buildings.set(id, {
        state,
        contribution: PROJECTIONS.buildings.contribution(state, energy, twin.coverageOf(id)),
        district: district ?? undefined,
        point: point as [number, number],
      });
      twin.indexes.buildings.set(id, geometryBBox(state.footprint));
    }
    for (const [id, saved, district, point] of s.mobility) {
      const state = mobilityShape(saved);
      twin.layers.mobility.set(id, {
        state,
        contribution: PROJECTIONS.mobility.contribution(state),
        district: district ?? undefined,
        point: point as [number, number],
      });
      twin.indexes.mobility.set(id, [point[0]!, point[1]!, point[0]!, point[1]!]);
    }
    for (const [id, saved, district, point] of s.grid) {
      const state = gridShape(saved);
      twin.layers.grid.set(id, {
        state,
        contribution: PROJECTIONS.grid.contribution(state),
        district: district ?? undefined,
        point: point as [number, number],
      });
      twin.indexes.grid.set(id, geometryBBox(state.geometry));
    }
    twin.kpi = KpiAccumulator.fromJSON(s.kpis);
    twin.markPeaksDirty();
    for (const index of Object.values(twin.indexes)) index.rebuild();
    if (s.deferred) twin.beginBulk();
    return twin;
  }

  private markPeaksDirty(): void {
    this.peaks.clear();
    this.dirtyPeaks = new Set(['', ...this.cityState.districts.map((d) => d.id), ...this.kpi.districtIds()]);
    for (const e of this.layers.grid.values()) if (e.district !== undefined) this.dirtyPeaks.add(e.district);
  }

  /** A cheap, independent copy: entity records and states are shared (never mutated), maps and indexes copied. */
  clone(): CityTwin {
    const twin = new CityTwin(this.city);
    twin.position = this.position;
    twin.cityState = this.cityState;
    twin.districtBoxes = this.districtBoxes;
    for (const layer of ['buildings', 'mobility', 'grid'] as const) {
      const target = twin.layers[layer] as Map<string, unknown>;
      for (const [id, e] of this.layers[layer]) target.set(id, e);
      twin.indexes[layer] = this.indexes[layer].clone();
    }
    twin.coverage = new Map(this.coverage);
    twin.kpi = this.kpi.clone();
    twin.peaks = new Map(this.peaks);
    twin.dirtyPeaks = new Set(this.dirtyPeaks);
    if (this.bulk) {
      twin.bulk = true;
      for (const index of Object.values(twin.indexes)) index.defer();
    }
    return twin;
  }
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
