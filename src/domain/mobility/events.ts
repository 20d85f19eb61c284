import { z } from 'zod';
import { pointSchema } from '../geometry.js';

export const MOBILITY_KINDS = [
  'ev-charger',
  'bike-station',
  'transit-stop',
  'bus',
  'tram',
  'trolleybus',
  'bike',
  'scooter',
  'car',
] as const;
export type MobilityKind = (typeof MOBILITY_KINDS)[number];
/** Assets that stay where they were registered (and must be inside the city); the others report positions. */
export const STATIC_MOBILITY_KINDS: readonly MobilityKind[] = ['ev-charger', 'bike-station', 'transit-stop'];
export const isStaticKind = (kind: MobilityKind) => STATIC_MOBILITY_KINDS.includes(kind);

export const ASSET_STATUSES = [
  'available',
  'occupied',
  'in-service',
  'out-of-service',
  'maintenance',
  'offline',
] as const;

export const mobilityAssetRegisteredSchema = z.strictObject({
  kind: z.enum(MOBILITY_KINDS),
  location: pointSchema,
  operator: z.string().min(1).max(200),
  name: z.string().max(500).optional(),
  /** Places: bike docks, charging points, passengers. */
  capacity: z.number().int().nonnegative().max(100_000).optional(),
  /** Charging power of a charger (sum over its points), kW. */
  powerKw: z.number().nonnegative().max(100_000).optional(),
  district: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/)
    .optional(),
  routes: z.array(z.string().min(1).max(100)).max(500).optional(),
});

export const vehiclePositionReportedSchema = z.strictObject({
  location: pointSchema,
  speedKmh: z.number().min(0).max(500).optional(),
  headingDeg: z.number().min(0).max(360).optional(),
});

export const assetStatusChangedSchema = z.strictObject({
  status: z.enum(ASSET_STATUSES),
  detail: z.string().max(500).optional(),
});

export const chargingSessionRecordedSchema = z
  .strictObject({
    energyKwh: z.number().nonnegative().max(10_000),
    startedAt: z.iso.datetime({ offset: true }),
    endedAt: z.iso.datetime({ offset: true }),
    sessionId: z.string().max(200).optional(),
  })
  .refine((s) => Date.parse(s.endedAt) > Date.parse(s.startedAt), {
    message: 'endedAt must be after startedAt',
    path: ['endedAt'],
  });

export const occupancyReportedSchema = z.strictObject({
  occupied: z.number().int().nonnegative().max(100_000),
  capacity: z.number().int().nonnegative().max(100_000).optional(),
});

export const mobilityAssetDecommissionedSchema = z.strictObject({});

export const mobilityEventSchemas = {
  MobilityAssetRegistered: mobilityAssetRegisteredSchema,
  VehiclePositionReported: vehiclePositionReportedSchema,
  AssetStatusChanged: assetStatusChangedSchema,
  ChargingSessionRecorded: chargingSessionRecordedSchema,
  OccupancyReported: occupancyReportedSchema,
  MobilityAssetDecommissioned: mobilityAssetDecommissionedSchema,
} as const;

type Of<K extends keyof typeof mobilityEventSchemas> = {
  type: K;
  data: z.infer<(typeof mobilityEventSchemas)[K]>;
};
export type MobilityAssetRegistered = Of<'MobilityAssetRegistered'>;
export type VehiclePositionReported = Of<'VehiclePositionReported'>;
export type AssetStatusChanged = Of<'AssetStatusChanged'>;
export type ChargingSessionRecorded = Of<'ChargingSessionRecorded'>;
export type OccupancyReported = Of<'OccupancyReported'>;
export type MobilityAssetDecommissioned = Of<'MobilityAssetDecommissioned'>;
export type MobilityEvent =
  | MobilityAssetRegistered
  | VehiclePositionReported
  | AssetStatusChanged
  | ChargingSessionRecorded
  | OccupancyReported
  | MobilityAssetDecommissioned;
export type AssetStatus = (typeof ASSET_STATUSES)[number];
