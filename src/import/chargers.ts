import type { AssetStatus } from '../domain/mobility/events.js';
import type { CityContext } from './cityContext.js';
import { asFeature, safeIdPart } from './geojsonFile.js';
import type { Importer, ImportItem, Mapped } from './pipeline.js';

/**
 * Open Charge Map style charging sites -> ev-charger assets: MobilityAssetRegistered (operator, name =
 * title, capacity = number_of_points, powerKw = sum over connections of PowerKW x Quantity, else
 * max_power_kw x number_of_points) and, when OCM knows it, an AssetStatusChanged with the site's status.
 */

/** OCM status titles -> asset status; unknown statuses add no status event. */
const STATUS: Record<string, AssetStatus> = {
  operational: 'available',
  'not operational': 'out-of-service',
  'temporarily unavailable': 'out-of-service',
  'partly operational (mixed)': 'available',
  'planned for future date': 'offline',
  'currently in deployment': 'offline',
  removed: 'offline',
  'removed (decommissioned)': 'offline',
};

interface Connection {
  PowerKW?: number | null;
  Quantity?: number | null;
}

function positive(value: unknown): number | undefined {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : undefined;
}

/** Total charging power of a site in kW, or undefined when OCM gives none. */
export function sitePowerKw(p: Record<string, unknown>): number | undefined {
  const connections = Array.isArray(p.connections) ? (p.connections as Connection[]) : [];
  const fromConnections = connections.reduce(
    (sum, c) => sum + (positive(c.PowerKW) ?? 0) * (positive(c.Quantity) ?? 1),
    0,
  );
  if (fromConnections > 0) return Math.round(fromConnections * 10) / 10;
  const max = positive(p.max_power_kw);
  const points = positive(p.number_of_points) ?? 1;
  return max ? max * points : undefined;
}

const isoOrUndefined = (value: unknown) =>
  typeof value === 'string' && !Number.isNaN(Date.parse(value)) ? new Date(value).toISOString() : undefined;

/** Maps one charging site. */
export function mapCharger(raw: unknown, _index: number, city: CityContext): Mapped {
  const feature = asFeature(raw);
  if (typeof feature === 'string') return { invalid: feature };
  const p = (feature.properties ?? {}) as Record<string, unknown>;
  const ocmId = p.ocm_id ?? (typeof feature.id === 'string' ? feature.id.replace(/^OCM-/, '') : feature.id);
  if (ocmId === undefined || ocmId === null || ocmId === '') return { invalid: 'has no ocm_id' };
  if (feature.geometry.type !== 'Point')
    return { invalid: `geometry is a ${feature.geometry.type}, not a Point` };
  const location = feature.geometry;
  const capacity = positive(p.number_of_points);
  const powerKw = sitePowerKw(p);
  const inside = city.inside(location.coordinates);
  const district = inside ? city.districtAt(location.coordinates) : undefined;
  const entityId = `ocm-${safeIdPart(String(ocmId))}`;
  const created = isoOrUndefined(p.date_created);
  const items: ImportItem[] = [
    {
      type: 'MobilityAssetRegistered',
      entityId,
      data: {
        kind: 'ev-charger',
        location,
        operator: String(p.operator || 'unknown operator').slice(0, 200),
        ...(p.title ? { name: String(p.title).slice(0, 500) } : {}),
        ...(capacity !== undefined ? { capacity: Math.round(capacity) } : {}),
        ...(powerKw !== undefined ? { powerKw } : {}),
        ...(district ? { district } : {}),
      },
      ...(created ? { occurredAt: created } : {}),
      reason: `Open Charge Map site ${ocmId}`,
    },
  ];
  const status =
    STATUS[
      String(p.status ?? '')
        .trim()
        .toLowerCase()
    ];
  if (status) {
    const verified = isoOrUndefined(p.date_last_verified) ?? isoOrUndefined(p.date_last_status_update);
    items.push({
      type: 'AssetStatusChanged',
      entityId,
      data: { status, detail: `OCM status: ${String(p.status)}`.slice(0, 500) },
      ...(verified ? { occurredAt: verified } : {}),
    });
  }
  return { featureId: String(ocmId), where: location, items };
}

/** The chargers importer over a file's features. */
export function chargersImporter(features: readonly unknown[]): Importer<unknown> {
  return { label: 'chargers', source: 'ocm', features, map: mapCharger };
}
