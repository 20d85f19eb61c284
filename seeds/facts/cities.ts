import type { EnergyCarrier } from '../../src/domain/city/events.js';
import {
  BUCHAREST_OUTLINE,
  BUCHAREST_SECTOR_OUTLINES,
  CLUJ_NAPOCA_OUTLINE,
  SUCEAVA_OUTLINE,
} from './boundaries.js';

/**
 * Facts about the three seeded cities: where they are, their districts, populations and emission factors.
 * Every figure names its source here and in the README ("Seeded cities").
 */

/** A district given by its outline (Bucharest's sectors) or by an approximate centre (a neighbourhood cell). */
export interface DistrictFact {
  id: string;
  name: string;
  /** Residents (census 2021 for Bucharest's sectors; an apportioned estimate for neighbourhoods). */
  population: number;
  outline?: number[][];
  /** [lon, lat] of the neighbourhood's approximate centre; cells are the Voronoi partition of the city. */
  centre?: [number, number];
  /** Where the 1960-1990 estates of the district are (the generator clusters panel blocks around them). */
  estates?: [number, number][];
}

export interface HeatingMix {
  /** Share of residential blocks heated by the district network (the rest: apartment gas boilers mostly). */
  blocksDistrictHeating: number;
  /** Share of non-residential buildings on the district network. */
  nonResidentialDistrictHeating: number;
}

export interface CityFact {
  id: string;
  name: string;
  timezone: string;
  population: number;
  populationSource: string;
  outline: number[][];
  /** [lon, lat] of the historic centre: pre-1945 buildings cluster around it. */
  centre: [number, number];
  districts: DistrictFact[];
  emissionFactors: Partial<Record<EnergyCarrier, number>>;
  emissionFactorsSource: string;
  heating: HeatingMix;
  /** Buildings in the default demo (scale 1). */
  buildings: number;
  transit: { operator: string; tram: boolean; trolleybus: boolean; metro: boolean };
  districtHeatingOperator?: string;
  electricityOperator: string;
}

/** Electricity Maps 2025, lifecycle, consumption-based: 300 gCO2eq/kWh (romania_grid_co2_intensity.csv). */
export const ELECTRICITY_KG_PER_KWH = 0.3;
/** IPCC 2006 default for natural gas, 56.1 t CO2/TJ (NCV) = 0.202 kg/kWh. */
export const NATURAL_GAS_KG_PER_KWH = 0.202;
/** IPCC 2006 defaults: gas/diesel oil 74.1 t/TJ = 0.267 kg/kWh; LPG 63.1 t/TJ = 0.227 kg/kWh. */
export const HEATING_OIL_KG_PER_KWH = 0.267;
export const LPG_KG_PER_KWH = 0.227;
/** Biomass: biogenic CO2 counted as zero; about 0.03 kg/kWh of supply-chain emissions kept. */
export const BIOMASS_KG_PER_KWH = 0.03;
/**
 * Bucharest district heat (CMTEB, mostly gas-fired CHP): 0.202 kg/kWh of gas / 0.85 production efficiency
 * allocated to heat / 0.72 for network losses of about 28 % = 0.33 kg per kWh delivered (a reasoned figure).
 */
export const BUCHAREST_DISTRICT_HEAT_KG_PER_KWH = 0.33;

const baseFactors = {
  electricity: ELECTRICITY_KG_PER_KWH,
  'natural-gas': NATURAL_GAS_KG_PER_KWH,
  'heating-oil': HEATING_OIL_KG_PER_KWH,
  lpg: LPG_KG_PER_KWH,
  biomass: BIOMASS_KG_PER_KWH,
} as const;

const FACTOR_SOURCE =
  'electricity: Electricity Maps 2025 Romania, 300 gCO2eq/kWh lifecycle (via thegreenwebfoundation/co2.js); ' +
  'natural gas 0.202, heating oil 0.267, LPG 0.227 kg/kWh: IPCC 2006 defaults; biomass 0.03 (supply chain)';

/** Census 2021 (INS, RPL 2021) resident population per sector; they sum to Bucharest's 1,716,961. */
const SECTOR_POPULATION = [202_320, 302_462, 366_947, 264_243, 223_563, 357_426] as const;

/** Where the big 1960-1990 estates of each sector are (approximate centres). */
const SECTOR_ESTATES: Record<number, [number, number][]> = {
  1: [
    [26.045, 44.485], // Bucureștii Noi / Chitila road
    [26.067, 44.478], // Bazilescu
    [26.085, 44.465], // Aviatorilor / Primăverii fringe
  ],
  2: [
    [26.13, 44.455], // Colentina
    [26.12, 44.44], // Iancului
    [26.153, 44.45], // Pantelimon
    [26.11, 44.462], // Ștefan cel Mare
  ],
  3: [
    [26.165, 44.425], // Titan
    [26.145, 44.415], // Dristor
    [26.19, 44.418], // Balta Albă / Titan east
    [26.12, 44.418], // Văcărești
  ],
  4: [
    [26.12, 44.385], // Berceni
    [26.105, 44.4], // Tineretului
    [26.1, 44.38], // Olteniței
  ],
  5: [
    [26.058, 44.405], // Rahova
    [26.04, 44.395], // Ferentari
    [26.07, 44.42], // Cotroceni fringe
  ],
  6: [
    [26.03, 44.42], // Drumul Taberei
    [26.02, 44.435], // Militari
    [26.055, 44.445], // Crângași
    [26.05, 44.43], // Grozăvești
  ],
};

const bucharest: CityFact = {
  id: 'bucharest',
  name: 'București',
  timezone: 'Europe/Bucharest',
  population: SECTOR_POPULATION.reduce((a, b) => a + b, 0),
  populationSource: 'INS, Recensământul Populației și Locuințelor 2021 (resident population per sector)',
  outline: BUCHAREST_OUTLINE,
  centre: [26.1025, 44.4268],
  districts: [1, 2, 3, 4, 5, 6].map((n) => ({
    id: `sector-${n}`,
    name: `Sectorul ${n}`,
    population: SECTOR_POPULATION[n - 1]!,
    outline: BUCHAREST_SECTOR_OUTLINES[n]!,
    estates: SECTOR_ESTATES[n]!,
  })),
  emissionFactors: { ...baseFactors, 'district-heating': BUCHAREST_DISTRICT_HEAT_KG_PER_KWH },
  emissionFactorsSource: `${FACTOR_SOURCE}; district heating 0.33 (CMTEB gas CHP, reasoned: 0.202 / 0.85 / 0.72)`,
  heating: { blocksDistrictHeating: 0.7, nonResidentialDistrictHeating: 0.3 },
  buildings: 2000,
  transit: { operator: 'STB', tram: true, trolleybus: true, metro: true },
  districtHeatingOperator: 'CMTEB',
  electricityOperator: 'Distribuție Energie Electrică România',
};

/**
 * Cluj-Napoca's neighbourhoods at their approximate centres. The city publishes no official population per
 * neighbourhood: the weights apportion the census 2021 total (286,598) by each estate's size, and are estimates.
 */
const CLUJ_NEIGHBOURHOODS: [string, string, [number, number], number][] = [
  ['centru', 'Centru', [23.5895, 46.7697], 0.07],
  ['manastur', 'Mănăștur', [23.553, 46.7585], 0.25],
  ['grigorescu', 'Grigorescu', [23.556, 46.7745], 0.05],
  ['gheorgheni', 'Gheorgheni', [23.6245, 46.7665], 0.11],
  ['marasti', 'Mărăști', [23.6115, 46.7805], 0.11],
  ['zorilor', 'Zorilor', [23.5795, 46.7545], 0.1],
  ['andrei-muresanu', 'Andrei Mureșanu', [23.6045, 46.7625], 0.03],
  ['iris', 'Iris', [23.5935, 46.7935], 0.04],
  ['buna-ziua', 'Bună Ziua', [23.6045, 46.7455], 0.05],
  ['someseni', 'Someșeni', [23.6545, 46.7805], 0.03],
  ['gruia', 'Gruia', [23.5755, 46.7805], 0.03],
  ['dambul-rotund', 'Dâmbul Rotund', [23.5645, 46.7895], 0.03],
  ['europa', 'Europa', [23.5715, 46.7365], 0.04],
  ['borhanci', 'Borhanci', [23.6345, 46.7475], 0.03],
  ['faget', 'Făget', [23.582, 46.727], 0.03],
];

const CLUJ_ESTATES: Record<string, [number, number][]> = {
  manastur: [
    [23.548, 46.758],
    [23.558, 46.755],
  ],
  gheorgheni: [[23.625, 46.766]],
  marasti: [[23.612, 46.781]],
  zorilor: [[23.578, 46.755]],
  grigorescu: [[23.556, 46.774]],
  'buna-ziua': [[23.603, 46.748]],
  iris: [[23.594, 46.791]],
};

const clujPopulation = 286_598;

function apportion(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const shares = weights.map((w) => Math.floor((total * w) / sum));
  shares[0]! += total - shares.reduce((a, b) => a + b, 0);
  return shares;
}

const clujShares = apportion(
  clujPopulation,
  CLUJ_NEIGHBOURHOODS.map(([, , , w]) => w),
);

const cluj: CityFact = {
  id: 'cluj-napoca',
  name: 'Cluj-Napoca',
  timezone: 'Europe/Bucharest',
  population: clujPopulation,
  populationSource: 'INS, RPL 2021 (municipality); neighbourhood shares are estimates',
  outline: CLUJ_NAPOCA_OUTLINE,
  centre: [23.5895, 46.7697],
  districts: CLUJ_NEIGHBOURHOODS.map(([id, name, centre], i) => ({
    id,
    name,
    centre,
    population: clujShares[i]!,
    ...(CLUJ_ESTATES[id] ? { estates: CLUJ_ESTATES[id] } : {}),
  })),
  emissionFactors: { ...baseFactors, 'district-heating': 0.3 },
  emissionFactorsSource: `${FACTOR_SOURCE}; district heating 0.30 (small gas-fired plants, reasoned)`,
  // Cluj-Napoca's district heating was largely dismantled in the 2000s; blocks moved to apartment boilers.
  heating: { blocksDistrictHeating: 0.05, nonResidentialDistrictHeating: 0.03 },
  buildings: 1100,
  transit: { operator: 'CTP Cluj-Napoca', tram: true, trolleybus: true, metro: false },
  districtHeatingOperator: 'Colonia Cluj-Napoca Energie',
  electricityOperator: 'Rețele Electrice Transilvania Nord',
};

/** Suceava's neighbourhoods (approximate centres); weights apportion the census 2021 total and are estimates. */
const SUCEAVA_NEIGHBOURHOODS: [string, string, [number, number], number][] = [
  ['centru', 'Centru', [26.2556, 47.6513], 0.12],
  ['areni', 'Areni', [26.2465, 47.647], 0.08],
  ['zamca', 'Zamca', [26.239, 47.6605], 0.09],
  ['obcini', 'Obcini', [26.2365, 47.6395], 0.16],
  ['george-enescu', 'George Enescu', [26.2495, 47.6375], 0.12],
  ['cuza-voda', 'Cuza Vodă', [26.2625, 47.642], 0.06],
  ['maratei', 'Mărăței', [26.2715, 47.656], 0.06],
  ['burdujeni', 'Burdujeni', [26.2855, 47.6705], 0.19],
  ['itcani', 'Ițcani', [26.2585, 47.6815], 0.09],
  ['burdujeni-sat', 'Burdujeni Sat', [26.2965, 47.6945], 0.03],
];

const SUCEAVA_ESTATES: Record<string, [number, number][]> = {
  obcini: [[26.237, 47.64]],
  'george-enescu': [[26.249, 47.6385]],
  burdujeni: [[26.284, 47.669]],
  zamca: [[26.24, 47.659]],
};

const suceavaPopulation = 84_308;
const suceavaShares = apportion(
  suceavaPopulation,
  SUCEAVA_NEIGHBOURHOODS.map(([, , , w]) => w),
);

const suceava: CityFact = {
  id: 'suceava',
  name: 'Suceava',
  timezone: 'Europe/Bucharest',
  population: suceavaPopulation,
  populationSource: 'INS, RPL 2021 (municipality); neighbourhood shares are estimates',
  outline: SUCEAVA_OUTLINE,
  centre: [26.2556, 47.6513],
  districts: SUCEAVA_NEIGHBOURHOODS.map(([id, name, centre], i) => ({
    id,
    name,
    centre,
    population: suceavaShares[i]!,
    ...(SUCEAVA_ESTATES[id] ? { estates: SUCEAVA_ESTATES[id] } : {}),
  })),
  // Suceava's network is fed by a biomass CHP (Bioenergy Suceava, since 2014) with gas back-up: reasoned 0.08.
  emissionFactors: { ...baseFactors, 'district-heating': 0.08 },
  emissionFactorsSource: `${FACTOR_SOURCE}; district heating 0.08 (biomass CHP with gas back-up, reasoned)`,
  heating: { blocksDistrictHeating: 0.3, nonResidentialDistrictHeating: 0.1 },
  buildings: 600,
  transit: { operator: 'TPL Suceava', tram: false, trolleybus: false, metro: false },
  districtHeatingOperator: 'Termica Suceava',
  electricityOperator: 'Delgaz Grid',
};

export const CITY_FACTS: readonly CityFact[] = [bucharest, cluj, suceava];

/** The facts of one seeded city by id, or undefined. */
export function cityFact(id: string): CityFact | undefined {
  return CITY_FACTS.find((c) => c.id === id);
}
