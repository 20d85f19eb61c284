import type { BuildingUse, EnergyClass } from '../../src/domain/building/events.js';

/**
 * The Romanian building stock, from MODERATE "T3.2 EU27 building stock 2020", sheet Romania
 * (MODERATE-Project/building-stock-analysis @ 6193a374, CC BY 4.0; ../shared/data/energy-stats/
 * moderate_eu27_building_stock_2020_romania.csv). Floor areas are Mm2; final energy is space heating + hot water
 * (fec_sh + fec_dhw), kWh per m2 and year. The generator draws construction periods in proportion to these
 * floor areas and energy use around these means, so the seeded stock follows the published mix.
 */

export const PERIODS = [
  { id: 'pre-1945', from: 1880, to: 1944 },
  { id: '1945-1969', from: 1945, to: 1969 },
  { id: '1970-1979', from: 1970, to: 1979 },
  { id: '1980-1989', from: 1980, to: 1989 },
  { id: '1990-1999', from: 1990, to: 1999 },
  { id: '2000-2010', from: 2000, to: 2010 },
  { id: '2011-2020', from: 2011, to: 2020 },
] as const;
export type PeriodId = (typeof PERIODS)[number]['id'];

/** The period a year of construction falls in. */
export function periodOf(year: number): PeriodId {
  for (const p of PERIODS) if (year <= p.to) return p.id;
  return '2011-2020';
}

/** Building archetypes: MODERATE subsectors, with the footprint and height ranges of their Romanian form. */
export type Archetype =
  | 'house' // Single family / terraced houses
  | 'block' // Apartment blocks: P+4 walk-up blocks (MODERATE mean 3.5-5.4 floors)
  | 'tower' // Multifamily (high-rise) blocks: P+8 / P+10 (MODERATE mean 6-10 floors)
  | 'office'
  | 'trade'
  | 'education'
  | 'health'
  | 'hotel'
  | 'other';

export interface ArchetypeFacts {
  use: BuildingUse;
  /** Floor area per period, Mm2 (MODERATE area_Mm2). */
  areaMm2: Record<PeriodId, number>;
  /** Final energy for space heating + hot water, kWh/m2/yr (MODERATE fec_sh_kWh_m2 + fec_dhw_kWh_m2). */
  finalKwhPerM2: Record<PeriodId, number>;
}

const row = (values: number[]): Record<PeriodId, number> =>
  Object.fromEntries(PERIODS.map((p, i) => [p.id, values[i]!])) as Record<PeriodId, number>;

export const ARCHETYPES: Record<Archetype, ArchetypeFacts> = {
  house: {
    use: 'residential',
    areaMm2: row([42.79, 91.21, 27.35, 23.98, 32.56, 32.02, 30.66]),
    finalKwhPerM2: row([544.2, 498.9, 506.8, 467.2, 400.5, 301.2, 131.9]),
  },
  block: {
    use: 'residential',
    areaMm2: row([15.36, 40.26, 30.26, 26.2, 15.48, 19.67, 18.52]),
    finalKwhPerM2: row([196.4, 150.7, 148.4, 131.5, 104.9, 94.0, 90.3]),
  },
  tower: {
    use: 'residential',
    areaMm2: row([2.34, 11.89, 6.64, 5.78, 1.73, 2.46, 8.25]),
    finalKwhPerM2: row([215.9, 189.4, 182.2, 154.6, 164.2, 124.0, 67.4]),
  },
  office: {
    use: 'office',
    areaMm2: row([1.91, 4.65, 1.39, 1.21, 1.39, 1.19, 0.71]),
    finalKwhPerM2: row([321.4, 321.4, 321.4, 321.4, 321.4, 312.0, 115.5]),
  },
  trade: {
    use: 'commercial',
    areaMm2: row([6.09, 8.44, 3.02, 2.92, 2.82, 2.58, 0.43]),
    finalKwhPerM2: row([299.7, 299.7, 299.7, 299.7, 299.7, 287.2, 132.7]),
  },
  education: {
    use: 'education',
    areaMm2: row([3.57, 5.27, 1.66, 1.56, 1.46, 1.36, 0.17]),
    finalKwhPerM2: row([161.0, 161.0, 161.0, 161.0, 161.0, 160.7, 65.4]),
  },
  health: {
    use: 'health',
    areaMm2: row([3.39, 4.54, 1.45, 1.35, 1.25, 1.13, 0.29]),
    finalKwhPerM2: row([369.0, 369.0, 369.0, 369.0, 369.0, 356.8, 198.1]),
  },
  hotel: {
    use: 'commercial',
    areaMm2: row([0.47, 1.71, 0.31, 0.11, 0.03, 1.04, 0.1]),
    finalKwhPerM2: row([267.6, 267.6, 267.6, 267.6, 267.6, 264.6, 110.0]),
  },
  other: {
    use: 'public',
    areaMm2: row([0.9, 4.95, 1.69, 1.51, 1.24, 1.14, 0.15]),
    finalKwhPerM2: row([316.8, 316.8, 316.8, 316.8, 316.8, 312.2, 135.3]),
  },
};

/** Share of each period in an archetype's floor area (what the seeded floor-area mix is tested against). */
export function periodShares(archetype: Archetype): Record<PeriodId, number> {
  const areas = ARCHETYPES[archetype].areaMm2;
  const total = PERIODS.reduce((sum, p) => sum + areas[p.id], 0);
  return Object.fromEntries(PERIODS.map((p) => [p.id, areas[p.id] / total])) as Record<PeriodId, number>;
}

/**
 * Urban mix by building count. MODERATE is national (rural houses dominate it); in the three cities most
 * dwellings are in blocks (census 2021: about 4 in 5 Bucharest dwellings are flats). Counts are an assumption
 * chosen so that blocks hold most floor area while houses are the most numerous buildings, as on the map.
 */
export const URBAN_COUNT_MIX: readonly (readonly [Archetype, number])[] = [
  ['house', 0.46],
  ['block', 0.27],
  ['tower', 0.09],
  ['office', 0.04],
  ['trade', 0.06],
  ['education', 0.03],
  ['health', 0.015],
  ['hotel', 0.01],
  ['other', 0.025],
];

/**
 * Primary-energy factors per heating system (Romanian methodology Mc 001-2022 orders of magnitude: gas 1.17,
 * electricity from the grid about 2.5; district heat from gas CHP with network losses taken as 1.3).
 */
export const PRIMARY_FACTOR = {
  'gas-boiler': 1.17,
  'district-heating': 1.3,
  'heat-pump': 2.5 / 3, // electricity at a seasonal COP of about 3
  electric: 2.5,
  biomass: 1.08,
  'oil-boiler': 1.1,
  other: 1.2,
} as const;

/**
 * Energy class from total specific primary energy (kWh/m2/yr), on the residential scale of the Romanian
 * energy performance certificate (Mc 001/2006: A <= 125, B <= 175, C <= 250, D <= 350, E <= 450, F <= 575,
 * G above); A+ is kept for near-zero buildings below 60.
 */
export function energyClassOf(primaryKwhPerM2: number): EnergyClass {
  if (primaryKwhPerM2 < 60) return 'A+';
  if (primaryKwhPerM2 <= 125) return 'A';
  if (primaryKwhPerM2 <= 175) return 'B';
  if (primaryKwhPerM2 <= 250) return 'C';
  if (primaryKwhPerM2 <= 350) return 'D';
  if (primaryKwhPerM2 <= 450) return 'E';
  if (primaryKwhPerM2 <= 575) return 'F';
  return 'G';
}

/** Mean net floor area of a Romanian dwelling in blocks (m2), for dwellings = GFA * 0.8 / this. */
export const DWELLING_M2 = { block: 55, tower: 52, house: 95 } as const;
/** Share of buildings with an energy certificate, retrofitted (thermal rehabilitation), with rooftop PV. */
export const CERTIFIED_SHARE = 0.45;
export const RETROFITTED_BLOCK_SHARE = 0.18;
export const PV_HOUSE_SHARE = 0.08;
export const METERED_SHARE = 0.12;
