import { z } from 'zod';
import { areaSchema } from '../geometry.js';
import { MOBILITY_KINDS } from '../mobility/events.js';

/** Energy carriers for which a city sets emission factors and buildings report consumption. */
export const ENERGY_CARRIERS = [
  'electricity',
  'natural-gas',
  'district-heating',
  'heating-oil',
  'biomass',
  'lpg',
] as const;
export const energyCarrierSchema = z.enum(ENERGY_CARRIERS);
export type EnergyCarrier = z.infer<typeof energyCarrierSchema>;

export const districtSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'district id must be a lower-case slug'),
  name: z.string().min(1).max(200),
  boundary: areaSchema.optional(),
  population: z.number().int().nonnegative().optional(),
});

export const cityRegisteredSchema = z.strictObject({
  name: z.string().min(1).max(200),
  country: z.string().length(2, 'ISO 3166-1 alpha-2 country code'),
  timezone: z.string().min(1).max(64),
  boundary: areaSchema,
  population: z.number().int().nonnegative(),
  districts: z.array(districtSchema).max(500),
});

/** kg CO2e per kWh of final energy, per carrier; `validFrom` lets a planner set a future (greener) grid. */
export const emissionFactorsSetSchema = z.strictObject({
  factors: z.partialRecord(energyCarrierSchema, z.number().nonnegative().max(10)),
  validFrom: z.iso.date().optional(),
  source: z.string().min(1).max(500),
});

/** Geofence ids: URL-safe slugs, unique within a city. */
export const GEOFENCE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/**
 * A geofence watched by the live gateway: assets of the given mobility kinds entering or leaving the area
 * are notified. Defining an id that exists replaces its definition (name, area or kinds).
 */
export const geofenceDefinedSchema = z.strictObject({
  geofenceId: z.string().regex(GEOFENCE_ID_PATTERN, 'must be a URL-safe id (letters, digits, _ . : -)'),
  name: z.string().min(1).max(200),
  area: areaSchema,
  kinds: z.array(z.enum(MOBILITY_KINDS)).min(1).max(MOBILITY_KINDS.length),
});

export const geofenceRemovedSchema = z.strictObject({
  geofenceId: z.string().regex(GEOFENCE_ID_PATTERN, 'must be a URL-safe id (letters, digits, _ . : -)'),
});

export const cityEventSchemas = {
  CityRegistered: cityRegisteredSchema,
  EmissionFactorsSet: emissionFactorsSetSchema,
  GeofenceDefined: geofenceDefinedSchema,
  GeofenceRemoved: geofenceRemovedSchema,
} as const;

export type CityRegistered = { type: 'CityRegistered'; data: z.infer<typeof cityRegisteredSchema> };
export type EmissionFactorsSet = {
  type: 'EmissionFactorsSet';
  data: z.infer<typeof emissionFactorsSetSchema>;
};
export type GeofenceDefined = { type: 'GeofenceDefined'; data: z.infer<typeof geofenceDefinedSchema> };
export type GeofenceRemoved = { type: 'GeofenceRemoved'; data: z.infer<typeof geofenceRemovedSchema> };
export type CityEvent = CityRegistered | EmissionFactorsSet | GeofenceDefined | GeofenceRemoved;
export type District = z.infer<typeof districtSchema>;
