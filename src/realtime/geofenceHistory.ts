/**
 * Geofence transitions over history: replays a city's position reports from the event store through the
 * same pure rules the live gateway uses (geofenceTransitions.ts) and keeps those that happened (by
 * `occurredAt`, when it happened in the city) within the asked window.
 */
import type { MobilityAssetRegistered, VehiclePositionReported } from '../domain/mobility/events.js';
import { entityStreamPrefix, parseStream } from '../domain/streams.js';
import type { EventStore } from '../eventStore/port.js';
import type { GeofenceTransition } from './contract.js';
import { geofenceTransitions, type PositionReport, type PreparedGeofence } from './geofenceTransitions.js';

const HISTORY_EVENT_TYPES = [
  'MobilityAssetRegistered',
  'VehiclePositionReported',
  'MobilityAssetDecommissioned',
];

export interface GeofenceHistoryQuery {
  /** Inclusive, ISO 8601. */
  from?: string;
  /** Exclusive, ISO 8601. */
  to?: string;
  /** Most transitions returned (the earliest first). */
  limit: number;
}

/**
 * The enter/exit transitions of `fence` (as defined now) over the city's whole recorded history, filtered
 * to `[from, to)` by when they happened; `truncated` when more than `limit` matched.
 * @example await geofenceHistory(store, 'suceava', fence, { from: '2026-03-03T00:00:00Z', to: '2026-03-04T00:00:00Z', limit: 1000 })
 */
export async function geofenceHistory(
  store: EventStore,
  city: string,
  fence: PreparedGeofence,
  query: GeofenceHistoryQuery,
): Promise<{ transitions: GeofenceTransition[]; truncated: boolean }> {
  const from = query.from === undefined ? Number.NEGATIVE_INFINITY : Date.parse(query.from);
  const to = query.to === undefined ? Number.POSITIVE_INFINITY : Date.parse(query.to);
  const assets = new Map<string, { kind: string; last: PositionReport; lastPositionAt?: string }>();
  const out: GeofenceTransition[] = [];
  let truncated = false;
  const keep = (list: GeofenceTransition[]) => {
    for (const t of list) {
      const at = Date.parse(t.occurredAt);
      if (at < from || at >= to) continue;
      if (out.length >= query.limit) {
        truncated = true;
        return;
      }
      out.push(t);
    }
  };
  for await (const event of store.readAll({
    filter: { streamPrefixes: [entityStreamPrefix('mobility', city)], eventTypes: HISTORY_EVENT_TYPES },
  })) {
    const parsed = parseStream(event.stream);
    if (parsed.kind !== 'mobility' || parsed.city !== city) continue;
    const occurredAt = (event.metadata as { occurredAt?: string }).occurredAt ?? event.recordedAt;
    const id = parsed.entityId;
    if (event.type === 'MobilityAssetDecommissioned') {
      assets.delete(id);
      continue;
    }
    if (event.type === 'MobilityAssetRegistered') {
      const data = event.data as MobilityAssetRegistered['data'];
      const report: PositionReport = {
        assetId: id,
        kind: data.kind,
        coordinates: data.location.coordinates,
        occurredAt,
        position: event.position,
      };
      assets.set(id, { kind: data.kind, last: report });
      keep(geofenceTransitions([fence], undefined, report));
      continue;
    }
    const asset = assets.get(id);
    if (!asset) continue;
    // As the twin does: a report older than the one shown does not move the asset back.
    if (asset.lastPositionAt !== undefined && occurredAt < asset.lastPositionAt) continue;
    const data = event.data as VehiclePositionReported['data'];
    const report: PositionReport = {
      assetId: id,
      kind: asset.kind,
      coordinates: data.location.coordinates,
      occurredAt,
      position: event.position,
    };
    keep(geofenceTransitions([fence], asset.last, report));
    asset.last = report;
    asset.lastPositionAt = occurredAt;
    if (truncated) break;
  }
  return { transitions: out, truncated };
}
