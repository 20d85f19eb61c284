import { area, centroid } from '@turf/turf';
import type { Point, Polygon } from 'geojson';
import KDBush from 'kdbush';
import { z } from 'zod';
import {
  BUILDING_USES,
  ENERGY_CLASSES,
  HEATING_SYSTEMS,
  RETROFIT_MEASURES,
} from '../domain/building/events.js';
import { emissionFactorsSetSchema } from '../domain/city/events.js';
import { positionSchema } from '../domain/geometry.js';
import { gridLinkAddedSchema, gridNodeAddedSchema } from '../domain/grid/events.js';
import { ENTITY_ID_PATTERN } from '../domain/streams.js';
import { validationErrorFromZod } from '../http/problem.js';
import type { TwinFeature } from '../twin/changes.js';

/**
 * What-if operations: one planner request expanded into many scenario events. Expansion is pure: it takes
 * the scenario's current features and returns event drafts; the scenario service validates each draft
 * with the ordinary schemas and rules against the scenario's state and appends them with the operation's
 * id as their causation id.
 */

const year = z.number().int().min(1000).max(2100);
const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a district id (lower-case slug)');
const oneOrMany = <T extends z.ZodType>(schema: T) =>
  z.union([schema, z.array(schema).min(1).max(500)]).transform((v) => (Array.isArray(v) ? v : [v]));

/** Which buildings an operation applies to; every given criterion must hold. */
export const buildingFilterSchema = z.strictObject({
  district: oneOrMany(slug).optional(),
  use: oneOrMany(z.enum(BUILDING_USES)).optional(),
  /** Inclusive range of construction years. */
  yearBuilt: z
    .strictObject({ from: year.optional(), to: year.optional() })
    .refine((r) => r.from === undefined || r.to === undefined || r.from <= r.to, {
      message: 'from must not be after to',
      path: ['to'],
    })
    .optional(),
  /** Current energy class (buildings without a certificate never match a class filter). */
  energyClass: oneOrMany(z.enum(ENERGY_CLASSES)).optional(),
});
export type BuildingFilter = z.infer<typeof buildingFilterSchema>;

const retrofitOperation = z.strictObject({
  type: z.literal('retrofit'),
  filter: buildingFilterSchema,
  measures: z.array(z.enum(RETROFIT_MEASURES)).min(1).max(RETROFIT_MEASURES.length),
  expectedSavingsPercent: z.number().min(0).max(100),
  newEnergyClass: z.enum(ENERGY_CLASSES).optional(),
  newHeatingSystem: z.enum(HEATING_SYSTEMS).optional(),
  /** Cost per m2 of gross floor area; each building's cost is this times its area. */
  costEurPerM2: z.number().nonnegative().max(100_000).optional(),
});

const chargerSpec = {
  operator: z.string().min(1).max(200).default('scenario'),
  powerKw: z.number().positive().max(100_000).default(50),
  capacity: z.number().int().positive().max(1_000).default(2),
};

const addChargersOperation = z
  .strictObject({
    type: z.literal('add-chargers'),
    /** Explicit sites, `[lon, lat]` each. */
    points: z.array(positionSchema).min(1).max(5_000).optional(),
    /** Or: this many chargers, placed where most residential buildings lack one within `radiusM`. */
    count: z.number().int().min(1).max(5_000).optional(),
    radiusM: z.number().positive().max(5_000).default(400),
    ...chargerSpec,
  })
  .refine((o) => (o.points === undefined) !== (o.count === undefined), {
    message: 'give either points or count',
    path: ['count'],
  });

const addPvOperation = z.strictObject({
  type: z.literal('add-pv'),
  filter: buildingFilterSchema,
  /** A fixed size per building; otherwise sized from the roof: footprint area x roofShare x kWpPerM2. */
  kWp: z.number().positive().max(100_000).optional(),
  roofShare: z.number().positive().max(1).default(0.4),
  kWpPerM2: z.number().positive().max(1).default(0.2),
  /** Skip buildings that already have PV. */
  skipExisting: z.boolean().default(true),
});

const setEmissionFactorsOperation = z.strictObject({
  type: z.literal('set-emission-factors'),
  ...emissionFactorsSetSchema.shape,
});

const entityId = z.string().regex(ENTITY_ID_PATTERN, 'must be an entity id');

const addNetworkOperation = z
  .strictObject({
    type: z.literal('add-network-elements'),
    nodes: z
      .array(z.strictObject({ id: entityId, ...gridNodeAddedSchema.shape }))
      .max(5_000)
      .default([]),
    // The link's own rules (two different ends, existing nodes) are checked when its event is validated.
    links: z
      .array(z.strictObject({ id: entityId, ...gridLinkAddedSchema.shape }))
      .max(5_000)
      .default([]),
  })
  .refine((o) => o.nodes.length + o.links.length > 0, {
    message: 'add at least one node or link',
    path: ['nodes'],
  });

const removeNetworkOperation = z.strictObject({
  type: z.literal('remove-network-elements'),
  ids: z.array(entityId).min(1).max(5_000),
});

export const operationSchema = z.discriminatedUnion('type', [
  retrofitOperation,
  addChargersOperation,
  addPvOperation,
  setEmissionFactorsOperation,
  addNetworkOperation,
  removeNetworkOperation,
]);
export type Operation = z.infer<typeof operationSchema>;
export const OPERATION_TYPES = [
  'retrofit',
  'add-chargers',
  'add-pv',
  'set-emission-factors',
  'add-network-elements',
  'remove-network-elements',
] as const;

/** One event an operation asks for: its type, the entity it is about (none for city events) and its data. */
export interface EventDraft {
  type: string;
  kind: 'building' | 'mobility' | 'grid' | 'city';
  entityId?: string;
  data: Record<string, unknown>;
}

/** What the expansion sees of the scenario: its current features per layer. */
export interface OperationContext {
  buildings: Iterable<TwinFeature>;
  mobility: Iterable<TwinFeature>;
  /** A short, unique prefix for ids of entities the operation creates. */
  idPrefix: string;
}

/** Parses an operation, throwing a ValidationError that names each bad field and value. */
export function parseOperation(input: unknown, field = 'operation'): Operation {
  const parsed = operationSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw validationErrorFromZod(parsed.error, { input, prefix: field, what: 'Invalid operation' });
}

/** Whether a building feature passes the filter. */
export function matchesBuildingFilter(feature: TwinFeature, filter: BuildingFilter): boolean {
  const p = feature.properties;
  if (filter.district && !filter.district.includes(String(p.district))) return false;
  if (filter.use && !filter.use.includes(p.use as never)) return false;
  if (filter.yearBuilt) {
    const y = Number(p.yearBuilt);
    if (filter.yearBuilt.from !== undefined && !(y >= filter.yearBuilt.from)) return false;
    if (filter.yearBuilt.to !== undefined && !(y <= filter.yearBuilt.to)) return false;
  }
  if (filter.energyClass && !filter.energyClass.includes(p.energyClass as never)) return false;
  return true;
}

/** Expands an operation into event drafts, in a deterministic order (by entity id). */
export function expandOperation(op: Operation, ctx: OperationContext): EventDraft[] {
  switch (op.type) {
    case 'retrofit':
      return sortedBuildings(ctx, op.filter).map((b) => {
        const data: Record<string, unknown> = {
          measures: op.measures,
          expectedSavingsPercent: op.expectedSavingsPercent,
        };
        if (op.newEnergyClass) data.newEnergyClass = op.newEnergyClass;
        if (op.newHeatingSystem) data.newHeatingSystem = op.newHeatingSystem;
        if (op.costEurPerM2 !== undefined) {
          data.costEur = Math.round(op.costEurPerM2 * Number(b.properties.grossFloorAreaM2 ?? 0));
        }
        return { type: 'BuildingRetrofitted', kind: 'building', entityId: b.id, data };
      });
    case 'add-pv':
      return sortedBuildings(ctx, op.filter)
        .filter((b) => !op.skipExisting || !(Number(b.properties.pvKWp ?? 0) > 0))
        .map((b) => {
          const roofM2 = b.geometry.type === 'Polygon' ? area(b.geometry as Polygon) : 0;
          const kWp = op.kWp ?? Math.round(roofM2 * op.roofShare * op.kWpPerM2 * 10) / 10;
          return { type: 'RooftopPvInstalled', kind: 'building' as const, entityId: b.id, data: { kWp } };
        })
        .filter((d) => (d.data.kWp as number) > 0);
    case 'add-chargers': {
      const sites = op.points
        ? op.points.map((coordinates) => ({
            coordinates: [coordinates[0], coordinates[1]],
            district: undefined,
          }))
        : worstCoveredSites(ctx, op.count!, op.radiusM);
      return sites.map((site, i) => {
        const data: Record<string, unknown> = {
          kind: 'ev-charger',
          location: { type: 'Point', coordinates: site.coordinates },
          operator: op.operator,
          capacity: op.capacity,
          powerKw: op.powerKw,
          name: `Scenario charger ${i + 1}`,
        };
        if (site.district) data.district = site.district;
        return {
          type: 'MobilityAssetRegistered',
          kind: 'mobility',
          entityId: `${ctx.idPrefix}-ch-${i + 1}`,
          data,
        };
      });
    }
    case 'set-emission-factors': {
      const { type: _type, ...data } = op;
      return [{ type: 'EmissionFactorsSet', kind: 'city', data }];
    }
    case 'add-network-elements':
      return [
        ...op.nodes.map(({ id, ...data }) => ({
          type: 'GridNodeAdded',
          kind: 'grid' as const,
          entityId: id,
          data,
        })),
        ...op.links.map(({ id, ...data }) => ({
          type: 'GridLinkAdded',
          kind: 'grid' as const,
          entityId: id,
          data,
        })),
      ];
    case 'remove-network-elements':
      return op.ids.map((id) => ({ type: 'GridElementRemoved', kind: 'grid', entityId: id, data: {} }));
  }
}

function sortedBuildings(ctx: OperationContext, filter: BuildingFilter): TwinFeature[] {
  const out: TwinFeature[] = [];
  for (const b of ctx.buildings) if (matchesBuildingFilter(b, filter)) out.push(b);
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Greedy maximal coverage: residential buildings with no charger within `radiusM` are the gap; the city is cut
 * into cells of `radiusM`, and each new charger goes to the uncovered building nearest the middle of the
 * cell with the most uncovered buildings; the buildings it covers then leave the gap. Coordinates are
 * projected to local metres (equirectangular), which is exact enough at 400 m.
 */
export function worstCoveredSites(
  ctx: Pick<OperationContext, 'buildings' | 'mobility'>,
  count: number,
  radiusM: number,
): { coordinates: [number, number]; district: string | undefined }[] {
  const homes: { x: number; y: number; lon: number; lat: number; district: string | undefined }[] = [];
  for (const b of ctx.buildings) {
    if (b.properties.use !== 'residential') continue;
    const c = centroid(b.geometry as Polygon).geometry as Point;
    homes.push({
      x: 0,
      y: 0,
      lon: c.coordinates[0]!,
      lat: c.coordinates[1]!,
      district: b.properties.district as string,
    });
  }
  if (homes.length === 0) return [];
  const lat0 = homes.reduce((s, h) => s + h.lat, 0) / homes.length;
  const kx = 111_320 * Math.cos((lat0 * Math.PI) / 180);
  const ky = 110_540;
  for (const h of homes) {
    h.x = h.lon * kx;
    h.y = h.lat * ky;
  }
  const chargers: { x: number; y: number }[] = [];
  for (const m of ctx.mobility) {
    if (m.properties.kind !== 'ev-charger' || m.geometry.type !== 'Point') continue;
    const [lon, lat] = (m.geometry as Point).coordinates;
    chargers.push({ x: lon! * kx, y: lat! * ky });
  }
  const covered = new Uint8Array(homes.length);
  if (chargers.length > 0) {
    const cIndex = new KDBush(chargers.length);
    for (const c of chargers) cIndex.add(c.x, c.y);
    cIndex.finish();
    homes.forEach((h, i) => {
      if (cIndex.within(h.x, h.y, radiusM).length > 0) covered[i] = 1;
    });
  }
  const hIndex = new KDBush(homes.length);
  for (const h of homes) hIndex.add(h.x, h.y);
  hIndex.finish();

  const sites: { coordinates: [number, number]; district: string | undefined }[] = [];
  for (let n = 0; n < count; n++) {
    const cells = new Map<string, number[]>();
    homes.forEach((h, i) => {
      if (covered[i]) return;
      const key = `${Math.floor(h.x / radiusM)}:${Math.floor(h.y / radiusM)}`;
      const list = cells.get(key);
      if (list) list.push(i);
      else cells.set(key, [i]);
    });
    let best: number[] | undefined;
    let bestKey = '';
    for (const [key, list] of cells) {
      // Ties go to the smaller key, so the result does not depend on iteration order.
      if (!best || list.length > best.length || (list.length === best.length && key < bestKey)) {
        best = list;
        bestKey = key;
      }
    }
    if (!best) break;
    const mx = best.reduce((s, i) => s + homes[i]!.x, 0) / best.length;
    const my = best.reduce((s, i) => s + homes[i]!.y, 0) / best.length;
    let site = best[0]!;
    let siteD = Number.POSITIVE_INFINITY;
    for (const i of best) {
      const d = (homes[i]!.x - mx) ** 2 + (homes[i]!.y - my) ** 2;
      if (d < siteD) {
        siteD = d;
        site = i;
      }
    }
    const h = homes[site]!;
    for (const i of hIndex.within(h.x, h.y, radiusM)) covered[i] = 1;
    sites.push({ coordinates: [h.lon, h.lat], district: h.district });
  }
  return sites;
}
