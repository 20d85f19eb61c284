import { z } from 'zod';
import { energyCarrierSchema } from '../city/events.js';
import { polygonSchema } from '../geometry.js';

export const BUILDING_USES = [
  'residential',
  'office',
  'education',
  'health',
  'commercial',
  'industrial',
  'public',
  'mixed',
  'other',
] as const;
export const ENERGY_CLASSES = ['A+', 'A', 'B', 'C', 'D', 'E', 'F', 'G'] as const;
export const HEATING_SYSTEMS = [
  'district-heating',
  'gas-boiler',
  'heat-pump',
  'electric',
  'biomass',
  'oil-boiler',
  'other',
] as const;
export const RETROFIT_MEASURES = [
  'wall-insulation',
  'roof-insulation',
  'floor-insulation',
  'windows',
  'heating-system',
  'heat-pump',
  'ventilation-heat-recovery',
  'lighting',
  'building-automation',
] as const;

const year = z.number().int().min(1000).max(2100);
const districtId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'district id must be a lower-case slug');

const buildingAttributes = {
  footprint: polygonSchema,
  use: z.enum(BUILDING_USES),
  yearBuilt: year,
  floors: z.number().int().min(1).max(200),
  heightM: z.number().positive().max(1_000).optional(),
  grossFloorAreaM2: z.number().positive().max(10_000_000),
  dwellings: z.number().int().nonnegative().max(100_000).optional(),
  district: districtId,
  address: z.string().max(500).optional(),
  name: z.string().max(500).optional(),
};

export const buildingRegisteredSchema = z.strictObject(buildingAttributes);

export const buildingEnergyCertifiedSchema = z.strictObject({
  energyClass: z.enum(ENERGY_CLASSES),
  primaryEnergyKwhPerM2Year: z.number().nonnegative().max(5_000),
  heatingSystem: z.enum(HEATING_SYSTEMS),
  certificateId: z.string().max(200).optional(),
  issuedOn: z.iso.date().optional(),
});

export const meterReadingRecordedSchema = z
  .strictObject({
    carrier: energyCarrierSchema,
    kwh: z.number().nonnegative().max(1e10),
    periodStart: z.iso.datetime({ offset: true }),
    periodEnd: z.iso.datetime({ offset: true }),
    meterId: z.string().max(200).optional(),
  })
  .refine((r) => Date.parse(r.periodEnd) > Date.parse(r.periodStart), {
    message: 'periodEnd must be after periodStart',
    path: ['periodEnd'],
  });

export const buildingRetrofittedSchema = z.strictObject({
  measures: z.array(z.enum(RETROFIT_MEASURES)).min(1).max(RETROFIT_MEASURES.length),
  /** Expected reduction of the building's final energy use, in percent. */
  expectedSavingsPercent: z.number().min(0).max(100),
  newEnergyClass: z.enum(ENERGY_CLASSES).optional(),
  newHeatingSystem: z.enum(HEATING_SYSTEMS).optional(),
  costEur: z.number().nonnegative().max(1e10).optional(),
});

export const rooftopPvInstalledSchema = z.strictObject({
  kWp: z.number().positive().max(100_000),
  /** Defaults, in the twin, to a Romanian yield of ~1,200 kWh per kWp and year when absent. */
  expectedYieldKwhPerYear: z.number().nonnegative().max(1e9).optional(),
});

export const buildingAttributesCorrectedSchema = z
  .strictObject(buildingAttributes)
  .partial()
  .refine((changes) => Object.keys(changes).length > 0, {
    message: 'at least one attribute must be corrected',
  });

export const buildingDemolishedSchema = z.strictObject({});

export const buildingEventSchemas = {
  BuildingRegistered: buildingRegisteredSchema,
  BuildingEnergyCertified: buildingEnergyCertifiedSchema,
  MeterReadingRecorded: meterReadingRecordedSchema,
  BuildingRetrofitted: buildingRetrofittedSchema,
  RooftopPvInstalled: rooftopPvInstalledSchema,
  BuildingAttributesCorrected: buildingAttributesCorrectedSchema,
  BuildingDemolished: buildingDemolishedSchema,
} as const;

type Of<K extends keyof typeof buildingEventSchemas> = {
  type: K;
  data: z.infer<(typeof buildingEventSchemas)[K]>;
};
export type BuildingRegistered = Of<'BuildingRegistered'>;
export type BuildingEnergyCertified = Of<'BuildingEnergyCertified'>;
export type MeterReadingRecorded = Of<'MeterReadingRecorded'>;
export type BuildingRetrofitted = Of<'BuildingRetrofitted'>;
export type RooftopPvInstalled = Of<'RooftopPvInstalled'>;
export type BuildingAttributesCorrected = Of<'BuildingAttributesCorrected'>;
export type BuildingDemolished = Of<'BuildingDemolished'>;
export type BuildingEvent =
  | BuildingRegistered
  | BuildingEnergyCertified
  | MeterReadingRecorded
  | BuildingRetrofitted
  | RooftopPvInstalled
  | BuildingAttributesCorrected
  | BuildingDemolished;
export type BuildingUse = (typeof BUILDING_USES)[number];
export type EnergyClass = (typeof ENERGY_CLASSES)[number];
export type HeatingSystem = (typeof HEATING_SYSTEMS)[number];
