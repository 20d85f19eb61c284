import type { BuildingUse, EnergyClass, HeatingSystem } from '../src/domain/building/events.js';
import type { EnergyCarrier } from '../src/domain/city/events.js';
import { ENERGY_CARRIERS } from '../src/domain/city/events.js';

/**
 * The energy model behind the building KPIs. Every constant here is a documented default (README, "Climate
 * KPIs"); a city's own data (meter readings, certificates, emission factors) always takes precedence.
 */

export type CarrierValues = Record<EnergyCarrier, number>;

export const zeroCarriers = (): CarrierValues => ({
  electricity: 0,
  'natural-gas': 0,
  'district-heating': 0,
  'heating-oil': 0,
  biomass: 0,
  lpg: 0,
});

/** A copy of per-carrier values (a literal of fixed shape: cheaper than a spread). */
export const copyCarriers = (v: CarrierValues): CarrierValues => ({
  electricity: v.electricity,
  'natural-gas': v['natural-gas'],
  'district-heating': v['district-heating'],
  'heating-oil': v['heating-oil'],
  biomass: v.biomass,
  lpg: v.lpg,
});

/** The carrier a heating system burns or draws. */
export const HEATING_CARRIER: Record<HeatingSystem, EnergyCarrier> = {
  'district-heating': 'district-heating',
  'gas-boiler': 'natural-gas',
  'heat-pump': 'electricity',
  electric: 'electricity',
  biomass: 'biomass',
  'oil-boiler': 'heating-oil',
  other: 'natural-gas',
};

/**
 * Total primary-energy factors (kWh primary per kWh final), EN ISO 52000-1:2017 Annex B defaults, used to turn
 * a certificate's primary energy back into final energy.
 */
export const PRIMARY_ENERGY_FACTOR: CarrierValues = {
  electricity: 2.5,
  'natural-gas': 1.1,
  'district-heating': 1.3,
  'heating-oil': 1.1,
  biomass: 1.2,
  lpg: 1.1,
};

/**
 * Emission factors (kg CO2e per kWh final) used where the city has set none: IPCC 2006 stationary combustion
 * defaults for fuels, biomass counted as 0 at the point of combustion, and a Romanian grid / district-heating
 * average of the early 2020s. A city replaces them with `EmissionFactorsSet`.
 */
export const DEFAULT_EMISSION_FACTORS: CarrierValues = {
  electricity: 0.26,
  'natural-gas': 0.202,
  'district-heating': 0.25,
  'heating-oil': 0.267,
  biomass: 0,
  lpg: 0.227,
};

/** Share of a certificate's primary energy attributed to heating and hot water; the rest is electricity. */
export const HEATING_SHARE = 0.8;

/** Default annual PV yield in Romania, kWh per kWp (PVGIS, south-facing, ~1,200-1,300). */
export const DEFAULT_PV_YIELD_KWH_PER_KWP = 1_200;

/**
 * Primary energy (kWh/m2/yr) assumed for a building without a certificate, by construction period: Romanian
 * stock before thermal rehabilitation (pre-1990 panel blocks ~ classes D-E), then the 1997 and 2010 codes.
 */
export function defaultPrimaryEnergy(yearBuilt: number): number {
  if (yearBuilt < 1960) return 320;
  if (yearBuilt < 1990) return 280;
  if (yearBuilt < 2010) return 200;
  return 120;
}

/** Heating assumed without a certificate: district heating for 1960-1989 residential blocks, else gas. */
export function defaultHeating(use: BuildingUse, yearBuilt: number): HeatingSystem {
  return use === 'residential' && yearBuilt >= 1960 && yearBuilt < 1990 ? 'district-heating' : 'gas-boiler';
}

export const CLASSES_A_TO_C: ReadonlySet<EnergyClass> = new Set(['A+', 'A', 'B', 'C']);

/**
 * Estimated final energy (kWh/yr) per carrier from primary energy per m2, floor area and heating system:
 * heating share / PEF(heating carrier), the rest / PEF(electricity), times a retrofit factor.
 */
export function estimateFinalEnergy(
  primaryKwhPerM2: number,
  floorAreaM2: number,
  heating: HeatingSystem,
  retrofitFactor: number,
): CarrierValues {
  const out = zeroCarriers();
  const primary = primaryKwhPerM2 * floorAreaM2 * retrofitFactor;
  const heatCarrier = HEATING_CARRIER[heating];
  out[heatCarrier] += (primary * HEATING_SHARE) / PRIMARY_ENERGY_FACTOR[heatCarrier];
  out.electricity += (primary * (1 - HEATING_SHARE)) / PRIMARY_ENERGY_FACTOR.electricity;
  return out;
}

/** CO2e in kg/yr of final energy per carrier under the given factors. */
export function co2eKg(energy: CarrierValues, factors: CarrierValues): number {
  let kg = 0;
  for (const c of ENERGY_CARRIERS) kg += energy[c] * factors[c];
  return kg;
}

/** Month key `YYYY-MM` (UTC) of an ISO time; months are compared as integers `year*12+month`. */
export function monthIndex(iso: string): number {
  const d = new Date(iso);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
}

export const METER_WINDOW_MONTHS = 12;
