import type { EnergyCarrier } from '../src/domain/city/events.js';
import { ENERGY_CARRIERS } from '../src/domain/city/events.js';
import type { BuildingEnergy, BuildingState } from './buildings.js';
import { type CarrierValues, CLASSES_A_TO_C } from './energy.js';
import type { GridState } from './grid.js';
import { utilisation } from './grid.js';
import type { MobilityState } from './mobility.js';

/**
 * KPI contributions. Every entity contributes a fixed vector of additive numbers to its district and to the
 * city; applying an event subtracts the entity's old vector and adds its new one, so KPIs are never
 * recomputed from scratch. Ratios (shares, per-1,000) and CO2e (final energy per carrier x the emission
 * factors in force) are formed from the sums when read.
 *
 * Every value is kept in integer thousandths (`KPI_SCALE`): sums of integers below 2^53 are exact, so they do
 * not depend on the order of additions. A snapshot plus a tail, a deferred bulk replay and a replay event by
 * event all end in bit-identical sums, and a contribution can be brought up to date whenever it is cheapest.
 */
export const KPI_FIELDS = [
  'buildings',
  'floorAreaM2',
  'floorAreaAtoCM2',
  'certifiedFloorAreaM2',
  'residentialBuildings',
  'residentialNearCharger',
  'residentialNearTransitStop',
  'dwellings',
  'energy:electricity',
  'energy:natural-gas',
  'energy:district-heating',
  'energy:heating-oil',
  'energy:biomass',
  'energy:lpg',
  'pvKWp',
  'pvYieldKwh',
  'retrofits',
  'retrofittedBuildings',
  'retrofitSavingsKwh',
  'chargers',
  'chargerKw',
  'transitStops',
  'bikeStations',
  'vehicles',
  'gridElements',
  'overloadedElements',
  'failedElements',
  'openFailures',
] as const;
export type KpiField = (typeof KPI_FIELDS)[number];

/** Index of each field in a contribution vector. */
export const F = Object.fromEntries(KPI_FIELDS.map((f, i) => [f, i])) as Record<KpiField, number>;
export const KPI_WIDTH = KPI_FIELDS.length;

/** Contributions and sums are integers in units of 1/KPI_SCALE of the field's unit (kWh, m2, kW, count). */
export const KPI_SCALE = 1_000;
const q = (v: number) => Math.round(v * KPI_SCALE);

/**
 * One entity's additive KPI numbers (scaled integers, see KPI_SCALE), indexed by `F`. A plain array rather
 * than a Float64Array: small plain arrays are far cheaper to allocate and collect than typed-array buffers.
 */
export type Contribution = number[];

const zeros = (): Contribution => new Array<number>(KPI_WIDTH).fill(0);

/** Field index of each carrier's energy, in ENERGY_CARRIERS order (computed once: this runs per event). */
const ENERGY_INDEX: readonly number[] = ENERGY_CARRIERS.map((c) => F[`energy:${c}` as KpiField]);

/** How many chargers and transit stops lie within 400 m of a building (kept by the twin's spatial index). */
export interface Coverage {
  chargers: number;
  transitStops: number;
}

export const COVERAGE_RADIUS_M = 400;

/** A building's KPI contribution (energy only: CO2e is formed from the carrier sums when read). */
export function buildingContribution(
  state: BuildingState,
  energy: Pick<BuildingEnergy, 'finalEnergy'>,
  coverage: Coverage,
): Contribution {
  const v = zeros();
  const area = q(state.grossFloorAreaM2);
  v[F.buildings] = KPI_SCALE;
  v[F.floorAreaM2] = area;
  if (state.energyClass !== undefined) {
    v[F.certifiedFloorAreaM2] = area;
    if (CLASSES_A_TO_C.has(state.energyClass)) v[F.floorAreaAtoCM2] = area;
  }
  if (state.use === 'residential') {
    v[F.residentialBuildings] = KPI_SCALE;
    v[F.residentialNearCharger] = coverage.chargers > 0 ? KPI_SCALE : 0;
    v[F.residentialNearTransitStop] = coverage.transitStops > 0 ? KPI_SCALE : 0;
  }
  v[F.dwellings] = q(state.dwellings ?? 0);
  for (let i = 0; i < ENERGY_CARRIERS.length; i++)
    v[ENERGY_INDEX[i]!] = q(energy.finalEnergy[ENERGY_CARRIERS[i]!]);
  v[F.pvKWp] = q(state.pvKWp);
  v[F.pvYieldKwh] = q(state.pvYieldKwhPerYear);
  v[F.retrofits] = q(state.retrofitCount);
  v[F.retrofittedBuildings] = state.retrofitCount > 0 ? KPI_SCALE : 0;
  v[F.retrofitSavingsKwh] = q(state.retrofitSavingsKwhPerYear);
  return v;
}

/** A mobility asset's KPI contribution. Chargers count while registered, whatever their status. */
export function mobilityContribution(state: MobilityState): Contribution {
  const v = zeros();
  switch (state.kind) {
    case 'ev-charger':
      v[F.chargers] = KPI_SCALE;
      v[F.chargerKw] = q(state.powerKw ?? 0);
      break;
    case 'transit-stop':
      v[F.transitStops] = KPI_SCALE;
      break;
    case 'bike-station':
      v[F.bikeStations] = KPI_SCALE;
      break;
    default:
      v[F.vehicles] = KPI_SCALE;
  }
  return v;
}

/**
 * Statuses in which a charger can be used. A charger that is out of service, in maintenance or offline does
 * not count for the 400 m coverage KPI (it still counts in the charger totals while registered); a
 * decommissioned one has left the layer.
 */
export const CHARGER_IN_SERVICE: ReadonlySet<string> = new Set(['available', 'occupied', 'in-service']);

/** Whether an asset counts for the 400 m coverage KPIs: transit stops, and chargers in service. */
export function coversResidents(state: MobilityState): boolean {
  if (state.kind === 'transit-stop') return true;
  return state.kind === 'ev-charger' && CHARGER_IN_SERVICE.has(state.status);
}

/** A grid element's KPI contribution. */
export function gridContribution(state: GridState): Contribution {
  const v = zeros();
  v[F.gridElements] = KPI_SCALE;
  const u = utilisation(state.lastLoadKw, state.capacityKw);
  v[F.overloadedElements] = u !== null && u > 1 ? KPI_SCALE : 0;
  v[F.failedElements] = state.openFailures.length > 0 ? KPI_SCALE : 0;
  v[F.openFailures] = q(state.openFailures.length);
  return v;
}

/** The element with the highest peak utilisation in an area. */
export interface PeakElement {
  elementId: string;
  peakUtilisation: number;
}

/** The KPIs of a city or a district, as served by GET /cities/{city}/kpis. */
export interface KpiValues {
  population: number | null;
  buildings: { count: number; residential: number; dwellings: number; floorAreaM2: number };
  finalEnergyMWhPerYear: Record<EnergyCarrier | 'total', number>;
  co2eTonnesPerYear: number;
  renewables: { pvKWp: number; pvGenerationMWhPerYear: number; shareOfFinalEnergy: number | null };
  floorAreaShareClassesAtoC: number | null;
  certifiedFloorAreaShare: number | null;
  retrofits: {
    count: number;
    buildings: number;
    shareOfStock: number | null;
    expectedSavingsMWhPerYear: number;
  };
  evChargers: { count: number; powerKw: number; per1000Residents: number | null };
  transitStops: number;
  bikeStations: number;
  vehicles: number;
  residentialShareWithin400mOfCharger: number | null;
  residentialShareWithin400mOfTransitStop: number | null;
  grid: {
    elements: number;
    overloadedElements: number;
    failedElements: number;
    openFailures: number;
    peak: PeakElement | null;
  };
}

const r = (v: number, digits = 3) => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};
const share = (part: number, whole: number) => (whole > 0 ? r(part / whole, 4) : null);

/**
 * Turns a sum vector into the KPI document (rounded for presentation; sums themselves stay exact). CO2e is
 * the final energy of each carrier times the emission factor in force (kg CO2e/kWh).
 */
export function kpiValues(
  sum: ArrayLike<number>,
  population: number | null,
  peak: PeakElement | null,
  factors: CarrierValues,
): KpiValues {
  const g = (f: KpiField) => (sum[F[f]] ?? 0) / KPI_SCALE;
  const energy = {} as Record<EnergyCarrier | 'total', number>;
  let total = 0;
  let co2eKg = 0;
  for (const c of ENERGY_CARRIERS) {
    const kwh = g(`energy:${c}` as KpiField);
    energy[c] = r(kwh / 1000);
    total += kwh;
    co2eKg += kwh * factors[c];
  }
  energy.total = r(total / 1000);
  const residential = g('residentialBuildings');
  return {
    population,
    buildings: {
      count: g('buildings'),
      residential,
      dwellings: g('dwellings'),
      floorAreaM2: r(g('floorAreaM2'), 1),
    },
    finalEnergyMWhPerYear: energy,
    co2eTonnesPerYear: r(co2eKg / 1000),
    renewables: {
      pvKWp: r(g('pvKWp')),
      pvGenerationMWhPerYear: r(g('pvYieldKwh') / 1000),
      shareOfFinalEnergy: share(g('pvYieldKwh'), total),
    },
    floorAreaShareClassesAtoC: share(g('floorAreaAtoCM2'), g('floorAreaM2')),
    certifiedFloorAreaShare: share(g('certifiedFloorAreaM2'), g('floorAreaM2')),
    retrofits: {
      count: g('retrofits'),
      buildings: g('retrofittedBuildings'),
      shareOfStock: share(g('retrofittedBuildings'), g('buildings')),
      expectedSavingsMWhPerYear: r(g('retrofitSavingsKwh') / 1000),
    },
    evChargers: {
      count: g('chargers'),
      powerKw: r(g('chargerKw')),
      per1000Residents: population ? r((g('chargers') * 1000) / population, 4) : null,
    },
    transitStops: g('transitStops'),
    bikeStations: g('bikeStations'),
    vehicles: g('vehicles'),
    residentialShareWithin400mOfCharger: share(g('residentialNearCharger'), residential),
    residentialShareWithin400mOfTransitStop: share(g('residentialNearTransitStop'), residential),
    grid: {
      elements: g('gridElements'),
      overloadedElements: g('overloadedElements'),
      failedElements: g('failedElements'),
      openFailures: g('openFailures'),
      peak,
    },
  };
}

/** The peak utilisation of a grid element, or null (no capacity or no load reported yet). */
export function peakUtilisationOf(state: GridState): number | null {
  return utilisation(state.peakLoadKw, state.capacityKw);
}

/** Definitions served next to the values and written in the README: unit and formula of each KPI. */
export const KPI_DEFINITIONS: Record<string, { unit: string; formula: string }> = {
  finalEnergyMWhPerYear: {
    unit: 'MWh/yr per carrier',
    formula:
      'sum over buildings of: metered kWh of the carrier over the 12-month window (annualised) where the building has readings of that carrier, else the estimate primaryEnergy x floor area x retrofit factor x (0.8 / PEF(heating carrier) for heating, 0.2 / PEF(electricity) for electricity)',
  },
  co2eTonnesPerYear: {
    unit: 't CO2e/yr',
    formula:
      "sum over carriers of final energy x the emission factor (kg/kWh) in force at the twin's time / 1000; a factor set is in force from 00:00 UTC of its validFrom date (at once when it has none); the twin's time is the latest occurredAt of the events applied to the city (validAt for a validAt query)",
  },
  renewables: {
    unit: 'kWp, MWh/yr',
    formula: 'sum of rooftop PV kWp; generation = sum of expected yield (default kWp x 1,200 kWh/kWp)',
  },
  floorAreaShareClassesAtoC: {
    unit: 'share 0..1',
    formula: 'floor area of buildings certified A+, A, B or C / floor area of all buildings',
  },
  retrofits: {
    unit: 'count, share 0..1, MWh/yr',
    formula: 'retrofit events; buildings with >= 1 retrofit / all buildings; sum of expected savings',
  },
  evChargers: {
    unit: 'count, kW, per 1,000 residents',
    formula: 'registered chargers; sum of powerKw; count x 1000 / population',
  },
  residentialShareWithin400mOfCharger: {
    unit: 'share 0..1',
    formula:
      'residential buildings whose footprint centroid is <= 400 m (great circle) from a registered charger in service (status available, occupied or in-service; not out-of-service, maintenance or offline) / residential buildings',
  },
  residentialShareWithin400mOfTransitStop: {
    unit: 'share 0..1',
    formula:
      'residential buildings whose footprint centroid is <= 400 m from a registered transit stop / residential buildings',
  },
  grid: {
    unit: 'count, share',
    formula:
      'elements; overloaded = last |load| / capacity > 1; failed = elements with an open failure; open failures; peak = element with the highest max |load| / capacity',
  },
};
