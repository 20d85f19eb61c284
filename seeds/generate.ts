import * as turf from '@turf/turf';
import type { Polygon, Position } from 'geojson';
import RBush from 'rbush';
import { URBAN_TWIN_NAMESPACE, uuidFromName } from '../src/core/ids.js';
import type { BuildingUse, HeatingSystem } from '../src/domain/building/events.js';
import type { DomainEventType } from '../src/domain/events.js';
import type { Network } from '../src/domain/grid/events.js';
import type { MobilityKind } from '../src/domain/mobility/events.js';
import type { EntityKind } from '../src/domain/streams.js';
import { cityStream, entityStream } from '../src/domain/streams.js';
import {
  ARCHETYPES,
  type Archetype,
  CERTIFIED_SHARE,
  DWELLING_M2,
  energyClassOf,
  METERED_SHARE,
  PERIODS,
  type PeriodId,
  PRIMARY_FACTOR,
  PV_HOUSE_SHARE,
  RETROFITTED_BLOCK_SHARE,
  URBAN_COUNT_MIX,
} from './facts/buildingStock.js';
import { CITY_FACTS, type CityFact, cityFact } from './facts/cities.js';
import {
  type Area,
  areaM2,
  contains,
  districtAreas,
  footprint,
  offset,
  randomPointIn,
  ringPolygon,
} from './geometry.js';
import { createRng, type Rng } from './prng.js';

/** One generated domain event, addressed to its stream, with a deterministic id. */
export interface SeedEvent {
  id: string;
  stream: string;
  kind: 'city' | EntityKind;
  /** Undefined for city events. */
  entityId?: string;
  type: DomainEventType;
  data: Record<string, unknown>;
  /** When it happened in the city (ISO 8601, UTC). */
  occurredAt: string;
}

export interface SeedOptions {
  /** Seed of the PRNG; the same seed gives the same events. Default `urban-twin`. */
  seed?: string;
  /** Multiplies every count (buildings, assets, grid); 1 = the demo (a few thousand buildings). */
  scale?: number;
}

export const DEFAULT_SEED = 'urban-twin';
export const SEEDED_CITY_IDS = CITY_FACTS.map((c) => c.id);

/** The moment the seeded inventory is recorded; everything else is dated relative to it. */
const INVENTORY_AT = '2024-01-01T00:00:00.000Z';
const LIVE_AT = Date.parse('2026-01-15T07:30:00.000Z');

const iso = (ms: number) => new Date(ms).toISOString();
const dayIn = (rng: Rng, fromYear: number, toYear: number) =>
  Date.UTC(rng.int(fromYear, toYear), rng.int(0, 11), rng.int(1, 28), rng.int(7, 17), 0, 0);
const round = (v: number, digits = 0) => Number(v.toFixed(digits));
const pad = (n: number, width = 5) => String(n).padStart(width, '0');

interface Ctx {
  city: CityFact;
  seed: string;
  scale: number;
  events: SeedEvent[];
  cityArea: Polygon;
  cityBbox: number[];
  cityVertices: Position[];
  districts: {
    id: string;
    area: Area;
    bbox: number[];
    vertices: Position[];
    weight: number;
    estates: [number, number][];
  }[];
}

function emit(
  ctx: Ctx,
  kind: SeedEvent['kind'],
  entityId: string | undefined,
  type: DomainEventType,
  data: Record<string, unknown>,
  occurredAt: string,
  n = 0,
): void {
  const stream = kind === 'city' ? cityStream(ctx.city.id) : entityStream(kind, ctx.city.id, entityId!);
  // The seed string is part of the name so that two different seeds never collide on an id.
  const id = uuidFromName(URBAN_TWIN_NAMESPACE, `seed:${ctx.seed}:${stream}:${type}:${n}`);
  ctx.events.push({ id, stream, kind, ...(entityId ? { entityId } : {}), type, data, occurredAt });
}

const scaled = (ctx: Ctx, n: number) => Math.max(1, Math.round(n * ctx.scale));

/** The district of a point, or undefined outside all of them. */
function districtAt(ctx: Ctx, p: Position): string | undefined {
  return ctx.districts.find((d) => contains(d.area, d.bbox, p))?.id;
}

function insideCity(ctx: Ctx, p: Position): boolean {
  return contains(ctx.cityArea, ctx.cityBbox, p);
}

/** A point inside the city (and a district), near `around` within `sdM` metres when given. */
function pointNear(
  ctx: Ctx,
  rng: Rng,
  around: Position | undefined,
  sdM: number,
): { p: [number, number]; district: string } {
  for (let attempt = 0; attempt < 200; attempt++) {
    const p = r6(
      around
        ? offset(around, rng.normal(0, sdM), rng.normal(0, sdM))
        : randomPointIn(rng, ctx.cityArea, ctx.cityBbox),
    );
    if (!insideCity(ctx, p)) continue;
    const district = districtAt(ctx, p);
    if (district) return { p, district };
  }
  const d = ctx.districts[0]!;
  return { p: randomPointIn(rng, d.area, d.bbox), district: d.id };
}

/** Positions to 6 decimals (about 10 cm): enough for any asset, and smaller events. */
const r6 = ([lon, lat]: Position): [number, number] => [round(lon!, 6), round(lat!, 6)];

// ---------------------------------------------------------------------------------------------------------
// The city

function cityEvents(ctx: Ctx): void {
  const { city } = ctx;
  emit(
    ctx,
    'city',
    undefined,
    'CityRegistered',
    {
      name: city.name,
      country: 'RO',
      timezone: city.timezone,
      boundary: ctx.cityArea,
      population: city.population,
      districts: city.districts.map((d) => ({
        id: d.id,
        name: d.name,
        boundary: ctx.districts.find((a) => a.id === d.id)!.area,
        population: d.population,
      })),
    },
    INVENTORY_AT,
  );
  emit(
    ctx,
    'city',
    undefined,
    'EmissionFactorsSet',
    { factors: city.emissionFactors, validFrom: '2024-01-01', source: city.emissionFactorsSource },
    INVENTORY_AT,
  );
}

// ---------------------------------------------------------------------------------------------------------
// Buildings

interface Form {
  length: [number, number];
  depth: [number, number];
  floors: [number, number];
  storeyM: number;
  lShare: number;
}

/** Footprint and height ranges by archetype and period: Romanian blocks are long slabs of about 12 m depth. */
function formOf(archetype: Archetype, period: PeriodId): Form {
  const old = period === 'pre-1945';
  const recent = period === '2000-2010' || period === '2011-2020';
  switch (archetype) {
    case 'house':
      return { length: [9, 16], depth: [8, 12], floors: recent ? [1, 3] : [1, 2], storeyM: 3, lShare: 0.3 };
    case 'block':
      return old
        ? { length: [18, 32], depth: [12, 16], floors: [4, 7], storeyM: 3.2, lShare: 0.3 }
        : { length: [36, 84], depth: [11, 14], floors: [4, 5], storeyM: 2.8, lShare: 0.15 };
    case 'tower':
      return recent
        ? { length: [28, 60], depth: [16, 22], floors: [10, 16], storeyM: 3, lShare: 0.2 }
        : { length: [30, 72], depth: [12, 15], floors: [9, 11], storeyM: 2.8, lShare: 0.1 };
    case 'office':
      return {
        length: [24, 60],
        depth: [16, 24],
        floors: recent ? [5, 14] : [3, 8],
        storeyM: 3.5,
        lShare: 0.2,
      };
    case 'trade':
      return { length: [20, 70], depth: [18, 50], floors: [1, 2], storeyM: 4.5, lShare: 0.1 };
    case 'education':
      return { length: [40, 70], depth: [12, 16], floors: [2, 4], storeyM: 3.6, lShare: 0.6 };
    case 'health':
      return { length: [40, 80], depth: [14, 18], floors: [3, 7], storeyM: 3.6, lShare: 0.5 };
    case 'hotel':
      return { length: [20, 45], depth: [12, 18], floors: [4, 10], storeyM: 3.2, lShare: 0.2 };
    case 'other':
      return { length: [15, 35], depth: [12, 25], floors: [1, 3], storeyM: 3.5, lShare: 0.1 };
  }
}

/** Typical gross floor area of one building of a form (mean length x mean depth x mean floors). */
function typicalGfa(form: Form): number {
  const mean = ([a, b]: [number, number]) => (a + b) / 2;
  return mean(form.length) * mean(form.depth) * mean(form.floors) * (1 + form.lShare * 0.5);
}

/**
 * Draws a construction period so that the seeded FLOOR AREA follows the published shares: the count weight of
 * a period is its floor area divided by the typical size of one of its buildings (new towers are bigger).
 */
const periodWeights = new Map<Archetype, (readonly [PeriodId, number])[]>();
function periodFor(rng: Rng, archetype: Archetype): PeriodId {
  let weights = periodWeights.get(archetype);
  if (!weights) {
    const areas = ARCHETYPES[archetype].areaMm2;
    weights = PERIODS.map((p) => [p.id, areas[p.id] / typicalGfa(formOf(archetype, p.id))] as const);
    periodWeights.set(archetype, weights);
  }
  return rng.weighted(weights);
}

function yearIn(rng: Rng, archetype: Archetype, period: PeriodId): number {
  const p = PERIODS.find((x) => x.id === period)!;
  // Mass housing began around 1960: the 1945-1969 blocks are mostly from the 1960s.
  if ((archetype === 'block' || archetype === 'tower') && period === '1945-1969' && rng.chance(0.75)) {
    return rng.int(1960, 1969);
  }
  return rng.int(Math.max(p.from, archetype === 'house' ? 1890 : 1900), p.to);
}

function heatingFor(ctx: Ctx, rng: Rng, archetype: Archetype, year: number): HeatingSystem {
  const h = ctx.city.heating;
  if (archetype === 'block' || archetype === 'tower') {
    if (rng.chance(h.blocksDistrictHeating)) return 'district-heating';
    return rng.weighted([
      ['gas-boiler', 0.93],
      ['electric', 0.04],
      ['heat-pump', year >= 2011 ? 0.06 : 0.0],
      ['other', 0.01],
    ]);
  }
  if (archetype === 'house') {
    return rng.weighted([
      ['gas-boiler', 0.84],
      ['biomass', ctx.city.id === 'suceava' ? 0.12 : 0.05],
      ['heat-pump', year >= 2011 ? 0.1 : 0.02],
      ['electric', 0.03],
      ['oil-boiler', 0.005],
    ]);
  }
  if (rng.chance(h.nonResidentialDistrictHeating)) return 'district-heating';
  return rng.weighted([
    ['gas-boiler', 0.88],
    ['heat-pump', year >= 2000 ? 0.08 : 0.02],
    ['electric', 0.03],
  ]);
}

const carrierOf = (heating: HeatingSystem) =>
  heating === 'district-heating'
    ? 'district-heating'
    : heating === 'gas-boiler'
      ? 'natural-gas'
      : heating === 'biomass'
        ? 'biomass'
        : heating === 'oil-boiler'
          ? 'heating-oil'
          : 'electricity';

/** Where a building of this archetype and period tends to stand. */
function siteFor(ctx: Ctx, rng: Rng, archetype: Archetype, period: PeriodId) {
  const estates = ctx.districts.flatMap((d) => d.estates);
  if (period === 'pre-1945' && rng.chance(0.7)) return pointNear(ctx, rng, ctx.city.centre, 1_400);
  const panel = period === '1945-1969' || period === '1970-1979' || period === '1980-1989';
  if ((archetype === 'block' || archetype === 'tower') && panel && estates.length > 0 && rng.chance(0.8)) {
    return pointNear(ctx, rng, rng.pick(estates), 700);
  }
  // Everything else spreads over the districts in proportion to their residents.
  const district = rng.weighted(ctx.districts.map((d) => [d, d.weight] as const));
  const p = randomPointIn(rng, district.area, district.bbox);
  return { p, district: district.id };
}

function vertexIn(vertices: Position[], [minX, minY, maxX, maxY]: number[]): boolean {
  return vertices.some(([x, y]) => x! >= minX! && x! <= maxX! && y! >= minY! && y! <= maxY!);
}

interface Placed {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

function buildingEvents(ctx: Ctx): void {
  const rng = createRng(`${ctx.seed}:${ctx.city.id}:buildings`);
  const index = new RBush<Placed>();
  const count = scaled(ctx, ctx.city.buildings);
  let made = 0;
  for (let attempt = 0; made < count && attempt < count * 40; attempt++) {
    const archetype = rng.weighted(URBAN_COUNT_MIX);
    const period = periodFor(rng, archetype);
    const year = yearIn(rng, archetype, period);
    const form = formOf(archetype, period);
    const site = siteFor(ctx, rng, archetype, period);
    const length = rng.float(...form.length);
    const depth = Math.min(rng.float(...form.depth), length);
    const shape = length >= depth * 2 && rng.chance(form.lShare) ? 'L' : 'rect';
    const polygon = footprint(site.p, length, depth, rng.float(0, 180), shape);
    const ring = polygon.coordinates[0]!;
    const district = ctx.districts.find((d) => d.id === site.district)!;
    if (!ring.every((v) => contains(district.area, district.bbox, v) && insideCity(ctx, v))) continue;
    const [minX, minY, maxX, maxY] = turf.bbox(polygon) as [number, number, number, number];
    if (index.collides({ minX, minY, maxX, maxY })) continue;
    // Vertices inside is not enough on a concave outline: an edge may still cross it. That needs an outline
    // vertex near the footprint, so the exact (slow) test only runs then.
    const box = [minX, minY, maxX, maxY];
    if (vertexIn(district.vertices, box) && !turf.booleanWithin(polygon, district.area)) continue;
    if (vertexIn(ctx.cityVertices, box) && !turf.booleanWithin(polygon, ctx.cityArea)) continue;
    index.insert({ minX, minY, maxX, maxY });
    made++;
    emitBuilding(ctx, rng, `b-${pad(made, 6)}`, archetype, period, year, form, polygon, site.district);
  }
}

function emitBuilding(
  ctx: Ctx,
  rng: Rng,
  id: string,
  archetype: Archetype,
  period: PeriodId,
  year: number,
  form: Form,
  polygon: Polygon,
  district: string,
): void {
  const facts = ARCHETYPES[archetype];
  const floors = rng.int(...form.floors);
  const gfa = round(areaM2(polygon) * floors, 1);
  const use: BuildingUse =
    archetype === 'block' && period === 'pre-1945' && rng.chance(0.3) ? 'mixed' : facts.use;
  const data: Record<string, unknown> = {
    footprint: polygon,
    use,
    yearBuilt: year,
    floors,
    heightM: round(floors * form.storeyM + 1, 1),
    grossFloorAreaM2: gfa,
    district,
  };
  if (archetype === 'house' || archetype === 'block' || archetype === 'tower') {
    data.dwellings = Math.max(1, Math.round((gfa * 0.8) / DWELLING_M2[archetype]));
  }
  emit(ctx, 'building', id, 'BuildingRegistered', data, INVENTORY_AT);

  const heating = heatingFor(ctx, rng, archetype, year);
  // Final energy around the MODERATE mean for the archetype and period (lognormal spread, about 20 %).
  const finalKwhPerM2 = facts.finalKwhPerM2[period] * Math.exp(rng.normal(0, 0.2) - 0.02);
  const primary = round(finalKwhPerM2 * PRIMARY_FACTOR[heating], 1);
  const certified = rng.chance(CERTIFIED_SHARE);
  const certifiedAt = dayIn(rng, 2014, 2023);
  if (certified) {
    emit(
      ctx,
      'building',
      id,
      'BuildingEnergyCertified',
      {
        energyClass: energyClassOf(primary),
        primaryEnergyKwhPerM2Year: primary,
        heatingSystem: heating,
        certificateId: `CPE-${ctx.city.id.slice(0, 3).toUpperCase()}-${id}`,
        issuedOn: iso(certifiedAt).slice(0, 10),
      },
      iso(Math.max(certifiedAt, Date.parse(INVENTORY_AT))),
    );
  }
  // The national thermal rehabilitation programme (since 2009) targets 1950-1990 blocks.
  const rehabilitable = (archetype === 'block' || archetype === 'tower') && year >= 1950 && year < 1990;
  if (rehabilitable && rng.chance(RETROFITTED_BLOCK_SHARE)) {
    const savings = round(rng.float(30, 45));
    emit(
      ctx,
      'building',
      id,
      'BuildingRetrofitted',
      {
        measures: ['wall-insulation', 'roof-insulation', 'windows'],
        expectedSavingsPercent: savings,
        newEnergyClass: energyClassOf(primary * (1 - savings / 100)),
        costEur: round(gfa * rng.float(70, 110)),
      },
      iso(dayIn(rng, 2024, 2025)),
    );
  }
  const pvCandidate =
    (archetype === 'house' && year >= 1990 && rng.chance(PV_HOUSE_SHARE * 2)) ||
    ((archetype === 'education' || archetype === 'trade' || archetype === 'other') && rng.chance(0.15));
  if (pvCandidate) {
    const kWp = archetype === 'house' ? round(rng.float(3, 10), 1) : round(rng.float(20, 100), 1);
    emit(
      ctx,
      'building',
      id,
      'RooftopPvInstalled',
      { kWp, expectedYieldKwhPerYear: round(kWp * rng.float(1_100, 1_300)) },
      iso(dayIn(rng, 2024, 2025)),
    );
  }
  if (rng.chance(METERED_SHARE)) meterReadings(ctx, rng, id, heating, finalKwhPerM2, gfa, archetype);
}

/** Quarterly readings of 2025 for the heating carrier and for electricity. */
function meterReadings(
  ctx: Ctx,
  rng: Rng,
  id: string,
  heating: HeatingSystem,
  finalKwhPerM2: number,
  gfa: number,
  archetype: Archetype,
): void {
  const heatShare = [0.42, 0.12, 0.06, 0.4]; // heating degree-days in Romania fall mostly in Q1 and Q4
  const quarters = ['2025-01-01', '2025-04-01', '2025-07-01', '2025-10-01', '2026-01-01'];
  const heatCarrier = carrierOf(heating);
  const heatKwh = heating === 'heat-pump' ? (finalKwhPerM2 * gfa) / 3 : finalKwhPerM2 * gfa;
  const electricPerM2 = archetype === 'house' || archetype === 'block' || archetype === 'tower' ? 28 : 75;
  let n = 0;
  for (let q = 0; q < 4; q++) {
    const period = {
      periodStart: `${quarters[q]}T00:00:00.000Z`,
      periodEnd: `${quarters[q + 1]}T00:00:00.000Z`,
    };
    const at = period.periodEnd;
    emit(
      ctx,
      'building',
      id,
      'MeterReadingRecorded',
      {
        carrier: heatCarrier,
        kwh: round(heatKwh * heatShare[q]! * rng.float(0.9, 1.1)),
        ...period,
        meterId: `M-${id}-H`,
      },
      at,
      n++,
    );
    if (heatCarrier !== 'electricity') {
      emit(
        ctx,
        'building',
        id,
        'MeterReadingRecorded',
        {
          carrier: 'electricity',
          kwh: round((electricPerM2 * gfa * rng.float(0.9, 1.1)) / 4),
          ...period,
          meterId: `M-${id}-E`,
        },
        at,
        n++,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Energy networks

interface Node {
  id: string;
  network: Network;
  at: [number, number];
  capacityKw: number;
}

function gridEvents(ctx: Ctx): void {
  const rng = createRng(`${ctx.seed}:${ctx.city.id}:grid`);
  const nodes: Node[] = [];
  const addNode = (node: Node, kind: string, name: string, district?: string) => {
    nodes.push(node);
    emit(
      ctx,
      'grid',
      node.id,
      'GridNodeAdded',
      {
        network: node.network,
        nodeKind: kind,
        location: { type: 'Point', coordinates: node.at },
        capacityKw: node.capacityKw,
        name,
        ...(district ? { district } : {}),
      },
      INVENTORY_AT,
    );
  };
  const addLink = (id: string, from: Node, to: Node, capacityKw: number, name?: string) => {
    // Cables follow streets: an L-shaped path through the corner (to.lon, from.lat).
    const corner: [number, number] = [to.at[0], from.at[1]];
    const path =
      corner[0] === from.at[0] || corner[1] === to.at[1] ? [from.at, to.at] : [from.at, corner, to.at];
    emit(
      ctx,
      'grid',
      id,
      'GridLinkAdded',
      {
        network: from.network,
        fromNode: from.id,
        toNode: to.id,
        path: { type: 'LineString', coordinates: path },
        capacityKw,
        ...(name ? { name } : {}),
      },
      INVENTORY_AT,
    );
  };

  // Electricity: 110/20 kV substations per district, 20/0.4 kV transformers around each.
  const substations: Node[] = [];
  let tr = 0;
  for (const d of ctx.districts) {
    const perDistrict = scaled(ctx, Math.max(1, Math.round(d.weight / 60_000)));
    for (let i = 0; i < perDistrict; i++) {
      const site = pointNear(ctx, rng, randomPointIn(rng, d.area, d.bbox), 10);
      const sub: Node = {
        id: `es-${d.id}-${i + 1}`,
        network: 'electricity',
        at: site.p,
        capacityKw: rng.pick([32_000, 40_000, 50_000]),
      };
      addNode(sub, 'substation', `Stația ${d.id.replace(/-/g, ' ')} ${i + 1} 110/20 kV`, site.district);
      substations.push(sub);
      const transformers = rng.int(5, 9);
      for (let t = 0; t < transformers; t++) {
        const tsite = pointNear(ctx, rng, sub.at, 700);
        const node: Node = {
          id: `et-${pad(++tr, 5)}`,
          network: 'electricity',
          at: tsite.p,
          capacityKw: rng.pick([400, 630, 1_000]) * 0.9,
        };
        addNode(node, 'transformer', `PT ${pad(tr, 4)}`, tsite.district);
        addLink(`el-${node.id}`, sub, node, node.capacityKw * 1.2);
      }
    }
  }
  // A 110 kV ring through the substations in angular order around the centre.
  const [cx, cy] = ctx.city.centre;
  const ring = [...substations].sort(
    (a, b) => Math.atan2(a.at[1] - cy, a.at[0] - cx) - Math.atan2(b.at[1] - cy, b.at[0] - cx),
  );
  if (ring.length > 2) {
    ring.forEach((sub, i) => {
      const next = ring[(i + 1) % ring.length]!;
      addLink(`el-ring-${pad(i + 1, 3)}`, sub, next, 80_000, '110 kV ring');
    });
  }

  // District heating: plants and thermal points (substations) linked to the nearest plant.
  const plants = districtHeatingPlants(ctx.city.id);
  const plantNodes: Node[] = [];
  for (const [i, plant] of plants.entries()) {
    const node: Node = {
      id: `dh-plant-${i + 1}`,
      network: 'district-heating',
      at: plant.at,
      capacityKw: plant.kw,
    };
    addNode(node, 'plant', plant.name, districtAt(ctx, plant.at));
    plantNodes.push(node);
  }
  if (plantNodes.length > 0) {
    const points = scaled(
      ctx,
      Math.round(ctx.city.buildings * ctx.city.heating.blocksDistrictHeating * 0.03),
    );
    for (let i = 0; i < points; i++) {
      const estate = ctx.districts.flatMap((d) => d.estates);
      const site = pointNear(ctx, rng, estate.length > 0 ? rng.pick(estate) : undefined, 900);
      const node: Node = {
        id: `dh-pt-${pad(i + 1, 4)}`,
        network: 'district-heating',
        at: site.p,
        capacityKw: rng.pick([2_500, 4_000, 6_000]),
      };
      addNode(node, 'substation', `PT ${i + 1}`, site.district);
      const plant = plantNodes.reduce((best, p) =>
        turf.distance(p.at, node.at) < turf.distance(best.at, node.at) ? p : best,
      );
      addLink(`dl-${node.id}`, plant, node, node.capacityKw * 1.1);
    }
  }

  // Loads: two readings per element; a few transformers run hot, one feeder has failed.
  const loadRng = rng.fork('loads');
  for (const node of nodes) {
    for (let r = 0; r < 2; r++) {
      const utilisation = loadRng.chance(0.04) ? loadRng.float(1.0, 1.25) : loadRng.float(0.25, 0.85);
      emit(
        ctx,
        'grid',
        node.id,
        'GridLoadReported',
        { loadKw: round(node.capacityKw * utilisation, 1) },
        iso(LIVE_AT - (2 - r) * 15 * 60_000),
        r,
      );
    }
  }
  const failing = nodes.filter((n) => n.id.startsWith('et-'));
  if (failing.length > 0) {
    const failed = loadRng.pick(failing);
    emit(
      ctx,
      'grid',
      failed.id,
      'GridElementFailed',
      { cause: 'cable fault on the 20 kV feeder', incidentId: `seed-${failed.id}` },
      iso(LIVE_AT - 40 * 60_000),
    );
  }
}

/** District-heating plants (approximate locations of the real CHP plants). */
function districtHeatingPlants(cityId: string): { name: string; at: [number, number]; kw: number }[] {
  switch (cityId) {
    case 'bucharest':
      return [
        { name: 'CET Sud', at: [26.1555, 44.4105], kw: 1_500_000 },
        { name: 'CET Vest', at: [25.995, 44.433], kw: 500_000 },
        { name: 'CET Progresu', at: [26.0985, 44.3705], kw: 800_000 },
        { name: 'CET Grozăvești', at: [26.0615, 44.4435], kw: 400_000 },
      ];
    case 'suceava':
      return [{ name: 'CET Suceava (biomass CHP)', at: [26.268, 47.675], kw: 120_000 }];
    case 'cluj-napoca':
      return [{ name: 'Centrala termică Mănăștur', at: [23.552, 46.7565], kw: 20_000 }];
    default:
      return [];
  }
}

// ---------------------------------------------------------------------------------------------------------
// Mobility

interface Stop {
  id: string;
  at: [number, number];
  district: string;
  routes: Set<string>;
}

/** A grid hash of stops, so lines share a stop within `km` without a scan over every stop (big scales). */
function stopIndex(km: number) {
  const cell = km / 111; // degrees; at these latitudes a longitude degree is shorter, which only widens cells
  const cells = new Map<string, Stop[]>();
  const key = (x: number, y: number) => `${Math.floor(x / cell)}:${Math.floor(y / cell)}`;
  return {
    add(stop: Stop) {
      const k = key(stop.at[0], stop.at[1]);
      const list = cells.get(k);
      if (list) list.push(stop);
      else cells.set(k, [stop]);
    },
    near(p: [number, number]): Stop | undefined {
      const cx = Math.floor(p[0] / cell);
      const cy = Math.floor(p[1] / cell);
      for (let dx = -1; dx <= 1; dx++) {
        for (let dy = -1; dy <= 1; dy++) {
          const hit = cells.get(`${cx + dx}:${cy + dy}`)?.find((s) => turf.distance(s.at, p) < km);
          if (hit) return hit;
        }
      }
      return undefined;
    },
  };
}

function mobilityEvents(ctx: Ctx): void {
  const rng = createRng(`${ctx.seed}:${ctx.city.id}:mobility`);
  const perResident = ctx.city.population / 100_000;
  const register = (id: string, data: Record<string, unknown>, at = INVENTORY_AT) =>
    emit(ctx, 'mobility', id, 'MobilityAssetRegistered', data, at);
  const point = (p: [number, number]) => ({ type: 'Point', coordinates: p });

  // EV chargers: AC posts, DC fast and a few high-power sites, more in the centre and at malls.
  const chargers = scaled(ctx, Math.round(perResident * 3.5));
  const operators = [
    'Renovatio e-charge',
    'Electrica',
    'E.ON Drive',
    'Enel X Way',
    'Kaufland',
    'Lidl',
    'OMV',
  ];
  for (let i = 0; i < chargers; i++) {
    const site = pointNear(ctx, rng, rng.chance(0.5) ? ctx.city.centre : undefined, 2_500);
    const type = rng.weighted([
      ['ac', 0.65],
      ['dc', 0.28],
      ['hpc', 0.07],
    ] as const);
    const points = type === 'ac' ? 2 : rng.int(1, 4);
    const perPoint = type === 'ac' ? 22 : type === 'dc' ? 50 : 150;
    const id = `ev-${pad(i + 1, 4)}`;
    register(
      id,
      {
        kind: 'ev-charger',
        location: point(site.p),
        operator: rng.pick(operators),
        name: `Charger ${i + 1}`,
        capacity: points,
        powerKw: points * perPoint,
        district: site.district,
      },
      iso(dayIn(rng, 2019, 2023)),
    );
    const status = rng.weighted([
      ['available', 0.6],
      ['occupied', 0.3],
      ['out-of-service', 0.1],
    ] as const);
    emit(ctx, 'mobility', id, 'AssetStatusChanged', { status }, iso(LIVE_AT));
  }

  // Transit: straight-ish lines across the city with a stop every ~450 m; stops close together are shared.
  const stops: Stop[] = [];
  const stopGrid = stopIndex(0.15);
  const routes = scaled(ctx, Math.max(4, Math.round(perResident * 4)));
  const modes: MobilityKind[] = ['bus'];
  if (ctx.city.transit.tram) modes.push('tram');
  if (ctx.city.transit.trolleybus) modes.push('trolleybus');
  const lines: { name: string; mode: MobilityKind; path: [number, number][] }[] = [];
  for (let r = 0; r < routes; r++) {
    const mode = rng.weighted(modes.map((m) => [m, m === 'bus' ? 0.65 : 0.35 / (modes.length - 1)] as const));
    const a = pointNear(ctx, rng, undefined, 0).p;
    const b = pointNear(ctx, rng, undefined, 0).p;
    const km = turf.distance(a, b);
    if (km < 2) continue;
    const name = `${mode === 'bus' ? '' : mode === 'tram' ? 'T' : 'TB'}${r + 1}`;
    const path: [number, number][] = [];
    const n = Math.floor((km * 1000) / 450);
    for (let s = 0; s <= n; s++) {
      const t = s / n;
      const p = r6([a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]);
      if (!insideCity(ctx, p)) continue;
      const district = districtAt(ctx, p);
      if (!district) continue;
      path.push(p);
      const near = stopGrid.near(p);
      if (near) near.routes.add(name);
      else {
        const stop = { id: `stop-${pad(stops.length + 1, 4)}`, at: p, district, routes: new Set([name]) };
        stops.push(stop);
        stopGrid.add(stop);
      }
    }
    if (path.length >= 2) lines.push({ name, mode, path });
  }
  for (const stop of stops) {
    register(stop.id, {
      kind: 'transit-stop',
      location: point(stop.at),
      operator: ctx.city.transit.operator,
      name: `Stația ${stop.id.slice(5)}`,
      district: stop.district,
      routes: [...stop.routes].sort(),
    });
  }
  if (ctx.city.transit.metro) {
    // Metro stations as transit stops along the M1/M2 axes (coarse).
    const axes: [string, [number, number], [number, number]][] = [
      ['M2', [26.117, 44.49], [26.115, 44.365]],
      ['M1', [26.015, 44.435], [26.19, 44.43]],
    ];
    let m = 0;
    for (const [name, from, to] of axes) {
      const n = scaled(ctx, 10);
      for (let s = 0; s <= n; s++) {
        const p = r6([from[0] + ((to[0] - from[0]) * s) / n, from[1] + ((to[1] - from[1]) * s) / n]);
        const district = insideCity(ctx, p) ? districtAt(ctx, p) : undefined;
        if (!district) continue;
        register(`metro-${pad(++m, 3)}`, {
          kind: 'transit-stop',
          location: point(p),
          operator: 'Metrorex',
          name: `Metrou ${name} ${s + 1}`,
          district,
          routes: [name],
        });
      }
    }
  }

  // Vehicles on the lines: registered where they start, then two position reports along the line.
  let v = 0;
  for (const line of lines) {
    const fleet = rng.int(2, 4);
    for (let k = 0; k < fleet; k++) {
      const id = `${line.mode}-${pad(++v, 4)}`;
      const start = rng.int(0, line.path.length - 2);
      const capacity = line.mode === 'bus' ? 100 : line.mode === 'tram' ? 180 : 110;
      register(id, {
        kind: line.mode,
        location: point(line.path[start]!),
        operator: ctx.city.transit.operator,
        name: `${line.name} #${k + 1}`,
        capacity,
        routes: [line.name],
      });
      emit(ctx, 'mobility', id, 'AssetStatusChanged', { status: 'in-service' }, iso(LIVE_AT - 60 * 60_000));
      for (let r = 0; r < 2; r++) {
        const p = line.path[Math.min(start + r + 1, line.path.length - 1)]!;
        emit(
          ctx,
          'mobility',
          id,
          'VehiclePositionReported',
          {
            location: point(p),
            speedKmh: round(rng.float(8, 35), 1),
            headingDeg: round(rng.float(0, 359), 0),
          },
          iso(LIVE_AT + r * 60_000),
          r,
        );
      }
      emit(ctx, 'mobility', id, 'OccupancyReported', { occupied: rng.int(5, capacity) }, iso(LIVE_AT));
    }
  }

  // Shared micro-mobility and car sharing, denser in the centre.
  const fleets: [MobilityKind, number, string[]][] = [
    ['scooter', 9, ['Lime', 'Bolt']],
    ['bike', 4, ['Bolt', 'Cluj Bike']],
    ['car', 2, ['Spark', 'Getaround']],
  ];
  for (const [kind, per100k, ops] of fleets) {
    const n = scaled(ctx, Math.round(perResident * per100k));
    for (let i = 0; i < n; i++) {
      const id = `${kind}-${pad(i + 1, 4)}`;
      const site = pointNear(ctx, rng, ctx.city.centre, 2_500);
      register(id, { kind, location: point(site.p), operator: rng.pick(ops), district: site.district });
      emit(
        ctx,
        'mobility',
        id,
        'AssetStatusChanged',
        { status: rng.chance(0.8) ? 'available' : 'in-service' },
        iso(LIVE_AT - 30 * 60_000),
      );
      const moved = r6(offset(site.p, rng.normal(0, 150), rng.normal(0, 150)));
      if (insideCity(ctx, moved)) {
        emit(
          ctx,
          'mobility',
          id,
          'VehiclePositionReported',
          {
            location: point(moved),
            speedKmh: kind === 'car' ? round(rng.float(0, 45), 1) : round(rng.float(0, 20), 1),
          },
          iso(LIVE_AT),
        );
      }
    }
  }

  // Bike-sharing stations.
  const stations = scaled(ctx, Math.max(3, Math.round(perResident * 2)));
  for (let i = 0; i < stations; i++) {
    const id = `bikes-${pad(i + 1, 3)}`;
    const site = pointNear(ctx, rng, ctx.city.centre, 2_000);
    const capacity = rng.pick([10, 12, 16, 20]);
    register(id, {
      kind: 'bike-station',
      location: point(site.p),
      operator:
        ctx.city.id === 'cluj-napoca'
          ? 'Cluj Bike'
          : ctx.city.id === 'bucharest'
            ? 'I\u2019Velo'
            : 'Primăria Suceava',
      name: `Bike station ${i + 1}`,
      capacity,
      district: site.district,
    });
    emit(
      ctx,
      'mobility',
      id,
      'OccupancyReported',
      { occupied: rng.int(0, capacity), capacity },
      iso(LIVE_AT),
    );
  }
}

// ---------------------------------------------------------------------------------------------------------

/**
 * Generates one seeded city as domain events in append order (city, buildings, grid, mobility).
 * @example generateCity('suceava', { scale: 0.5 }).length
 */
export function generateCity(cityId: string, options: SeedOptions = {}): SeedEvent[] {
  const city = cityFact(cityId);
  if (!city)
    throw new Error(`No seeded city ${JSON.stringify(cityId)}; known: ${SEEDED_CITY_IDS.join(', ')}`);
  const scale = options.scale ?? 1;
  if (!(scale > 0) || !Number.isFinite(scale))
    throw new Error(`Seed scale must be a positive number: ${scale}`);
  const cityArea = ringPolygon(city.outline);
  const areas = districtAreas(city);
  const ctx: Ctx = {
    city,
    seed: options.seed ?? DEFAULT_SEED,
    scale,
    events: [],
    cityArea,
    cityBbox: turf.bbox(cityArea),
    cityVertices: cityArea.coordinates.flat(),
    districts: city.districts.map((d) => {
      const area = areas.get(d.id)!;
      const vertices = area.type === 'Polygon' ? area.coordinates.flat() : area.coordinates.flat(2);
      return {
        id: d.id,
        area,
        bbox: turf.bbox(area),
        vertices,
        weight: d.population,
        estates: d.estates ?? [],
      };
    }),
  };
  cityEvents(ctx);
  buildingEvents(ctx);
  gridEvents(ctx);
  mobilityEvents(ctx);
  return ctx.events;
}

/** All three seeded cities. */
export function generateCities(options: SeedOptions = {}): Map<string, SeedEvent[]> {
  return new Map(SEEDED_CITY_IDS.map((id) => [id, generateCity(id, options)]));
}
