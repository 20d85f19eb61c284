/**
 * Live geofence tracking for one city: remembers each asset's last report and turns the twin's mobility
 * changes into enter/exit transitions with the pure rules of geofenceTransitions.ts.
 */
import type { TwinChangeBatch } from '../twin/changes.js';
import type { GeofenceTransition } from './contract.js';
import { geofenceTransitions, type PositionReport, type PreparedGeofence } from './geofenceTransitions.js';

/** Events whose mobility upserts are position reports (registration places the asset for the first time). */
export const REPORTING_EVENTS = new Set(['MobilityAssetRegistered', 'VehiclePositionReported']);

export interface GeofenceTracker {
  /** The transitions one applied event caused (empty for anything but a position report). */
  observe(batch: TwinChangeBatch): GeofenceTransition[];
}

const samePoint = (a: readonly number[], b: readonly number[]) => a[0] === b[0] && a[1] === b[1];

export function createGeofenceTracker(fences: () => readonly PreparedGeofence[]): GeofenceTracker {
  const last = new Map<string, PositionReport>();
  return {
    observe(batch) {
      const out: GeofenceTransition[] = [];
      for (const change of batch.changes) {
        if (change.layer !== 'mobility') continue;
        if (change.op === 'remove') {
          last.delete(change.id);
          continue;
        }
        if (!REPORTING_EVENTS.has(batch.eventType) || change.feature.geometry?.type !== 'Point') continue;
        const kind = change.feature.properties.kind;
        const current: PositionReport = {
          assetId: change.id,
          kind: typeof kind === 'string' ? kind : '',
          coordinates: change.feature.geometry.coordinates,
          occurredAt: batch.occurredAt,
          position: batch.position,
        };
        let previous = last.get(change.id);
        if (!previous && change.previous?.geometry?.type === 'Point') {
          // First report this node sees of a known asset: its previous place, time unknown.
          previous = { ...current, coordinates: change.previous.geometry.coordinates };
        }
        last.set(change.id, current);
        if (previous && samePoint(previous.coordinates, current.coordinates)) continue;
        const list = fences();
        if (list.length > 0) out.push(...geofenceTransitions(list, previous, current));
      }
      return out;
    },
  };
}
