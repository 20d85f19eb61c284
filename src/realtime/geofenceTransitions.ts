/**
 * Geofence transitions, pure: given the fences of a city and an asset's previous and current report, the
 * enter/exit transitions in the order they happened. The segment between two consecutive reports is tested
 * against the fence, so an asset that crosses a fence between reports still yields enter then exit. Shared
 * by the live gateway and the historical query, so both always agree.
 */
import { booleanPointInPolygon, lineIntersect, lineString, bbox as turfBbox } from '@turf/turf';
import type { MultiPolygon, Polygon } from 'geojson';
import type { GeofenceTransition } from './contract.js';

export interface Geofence {
  geofenceId: string;
  name: string;
  area: Polygon | MultiPolygon;
  /** Mobility kinds watched. */
  kinds: readonly string[];
}

/** A fence with its extent precomputed, to skip the exact test for reports far away. */
export interface PreparedGeofence extends Geofence {
  extent: [number, number, number, number];
}

export interface PositionReport {
  assetId: string;
  kind: string;
  coordinates: readonly number[];
  occurredAt: string;
  position: bigint;
}

export function prepareGeofence(fence: Geofence): PreparedGeofence {
  return { ...fence, extent: turfBbox(fence.area) as [number, number, number, number] };
}

const inside = (fence: Geofence, point: readonly number[]) =>
  booleanPointInPolygon([point[0]!, point[1]!], fence.area);

const at = (a: readonly number[], b: readonly number[], t: number) => [
  a[0]! + (b[0]! - a[0]!) * t,
  a[1]! + (b[1]! - a[1]!) * t,
];

function interpolateTime(from: string, to: string, t: number): string {
  const a = Date.parse(from);
  const b = Date.parse(to);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return to;
  return new Date(a + (b - a) * t).toISOString();
}

/** The breakpoints (0 < t < 1) where the segment a->b meets the fence's boundary, sorted and de-duplicated. */
function crossings(fence: Geofence, a: readonly number[], b: readonly number[]): number[] {
  const dx = b[0]! - a[0]!;
  const dy = b[1]! - a[1]!;
  if (dx === 0 && dy === 0) return [];
  const hits = lineIntersect(lineString([a.slice(0, 2), b.slice(0, 2)]), fence.area);
  const ts: number[] = [];
  for (const hit of hits.features) {
    const [x, y] = hit.geometry.coordinates as [number, number];
    const t = Math.abs(dx) >= Math.abs(dy) ? (x - a[0]!) / dx : (y - a[1]!) / dy;
    if (t > 1e-12 && t < 1 - 1e-12) ts.push(t);
  }
  ts.sort((p, q) => p - q);
  return ts.filter((t, i) => i === 0 || t - ts[i - 1]! > 1e-12);
}

function segmentOverlaps(fence: PreparedGeofence, a: readonly number[], b: readonly number[]): boolean {
  const [w, s, e, n] = fence.extent;
  return (
    Math.max(a[0]!, b[0]!) >= w &&
    Math.min(a[0]!, b[0]!) <= e &&
    Math.max(a[1]!, b[1]!) >= s &&
    Math.min(a[1]!, b[1]!) <= n
  );
}

/**
 * The transitions an asset makes from its previous report to the current one, over all fences that watch
 * its kind, ordered by when they happened. Without a previous report, being inside counts as entering.
 * @example geofenceTransitions(fences, { ...report, coordinates: [26.0, 44.4] }, report)
 */
export function geofenceTransitions(
  fences: Iterable<PreparedGeofence>,
  previous: PositionReport | undefined,
  current: PositionReport,
): GeofenceTransition[] {
  const out: Array<GeofenceTransition & { t: number }> = [];
  const p1 = current.coordinates;
  for (const fence of fences) {
    if (!fence.kinds.includes(current.kind)) continue;
    const make = (transition: 'enter' | 'exit', t: number): GeofenceTransition & { t: number } => ({
      transition,
      geofenceId: fence.geofenceId,
      geofenceName: fence.name,
      assetId: current.assetId,
      kind: current.kind,
      location: {
        type: 'Point',
        coordinates: previous && t < 1 ? at(previous.coordinates, p1, t) : [p1[0]!, p1[1]!],
      },
      occurredAt:
        previous && t < 1 ? interpolateTime(previous.occurredAt, current.occurredAt, t) : current.occurredAt,
      position: current.position.toString(),
      interpolated: t > 0 && t < 1,
      t,
    });
    if (!previous) {
      if (segmentOverlaps(fence, p1, p1) && inside(fence, p1)) out.push(make('enter', 1));
      continue;
    }
    const p0 = previous.coordinates;
    if (!segmentOverlaps(fence, p0, p1)) continue;
    // Sample the state at both ends and in the middle of every stretch between boundary hits; a change of
    // state between two samples is a transition at the breakpoint that separates them. Sampling rather
    // than counting hits keeps tangents and vertex hits from inventing transitions.
    const breaks = crossings(fence, p0, p1);
    const bounds = [0, ...breaks, 1];
    const samples: Array<{ state: boolean; before: number }> = [{ state: inside(fence, p0), before: 0 }];
    for (let i = 0; i < bounds.length - 1; i++) {
      const mid = (bounds[i]! + bounds[i + 1]!) / 2;
      samples.push({ state: inside(fence, at(p0, p1, mid)), before: bounds[i]! });
    }
    samples.push({ state: inside(fence, p1), before: 1 });
    for (let i = 1; i < samples.length; i++) {
      const prev = samples[i - 1]!;
      const next = samples[i]!;
      if (prev.state !== next.state) out.push(make(next.state ? 'enter' : 'exit', next.before));
    }
  }
  out.sort((a, b) => a.t - b.t);
  return out.map(({ t: _t, ...transition }) => transition);
}
