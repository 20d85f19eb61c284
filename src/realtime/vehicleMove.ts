/**
 * The compact form of the most frequent change on the wire: a vehicle of the mobility layer, already held by
 * the console, moved to a new point with one position report. All that changes in its feature is the point,
 * `lastPositionAt` and `updatedAt` (both the report's time), and `speedKmh` / `headingDeg` (the report's, or
 * null when it has none), so the change is sent as `{op: 'move', id, position, x, y, at, v?, h?}` instead of a
 * patch that repeats the layer, the geometry's type and the property names. The server sends a move only when
 * applying it to what the console holds gives exactly the twin's feature; anything else stays a patch.
 */
import type { Point } from 'geojson';
import type { TwinFeature } from '../twin/changes.js';
import type { LiveMove } from './contract.js';
import type { FeaturePatch } from './featurePatch.js';

/** The properties a position report sets; a move sets all four. */
const MOVE_PROPERTIES = ['lastPositionAt', 'updatedAt', 'speedKmh', 'headingDeg'] as const;
const MOVED = new Set<string>(MOVE_PROPERTIES);
const FEATURE_MEMBERS = new Set(['type', 'id', 'geometry', 'properties']);

/** What a move carries besides its id and position. */
export type MoveFields = Omit<LiveMove, 'op' | 'id' | 'position'>;

/**
 * The move that says `patch` (the patch turning the held feature into `feature`, from `patchOf`), or
 * undefined when it says more than a position report: a property other than the four changed, the two times
 * differ, the geometry is not a plain 2D point.
 */
export function moveOf(patch: FeaturePatch, feature: TwinFeature): MoveFields | undefined {
  if (patch.properties) for (const key in patch.properties) if (!MOVED.has(key)) return undefined;
  // `applyMove` rebuilds exactly these members (the patch says the held feature has the same ones).
  for (const key in feature) if (!FEATURE_MEMBERS.has(key)) return undefined;
  const geometry = feature.geometry;
  if (geometry?.type !== 'Point') return undefined;
  for (const key in geometry) if (key !== 'type' && key !== 'coordinates') return undefined;
  const coordinates = geometry.coordinates;
  if (coordinates.length !== 2) return undefined;
  const to = feature.properties;
  const at = to.lastPositionAt;
  if (typeof at !== 'string' || to.updatedAt !== at) return undefined;
  const v = to.speedKmh;
  const h = to.headingDeg;
  if (!('speedKmh' in to) || !('headingDeg' in to)) return undefined;
  if ((v !== null && typeof v !== 'number') || (h !== null && typeof h !== 'number')) return undefined;
  const move: MoveFields = { x: coordinates[0]!, y: coordinates[1]!, at };
  if (v !== null) move.v = v;
  if (h !== null) move.h = h;
  return move;
}

/**
 * The feature a console holds after a move (a new object; `held` is not changed). Built member by member
 * rather than by spreading: the copy of ~20 properties per update is a console's main cost after parsing.
 */
export function applyMove(held: TwinFeature, move: MoveFields): TwinFeature {
  const geometry: Point = { type: 'Point', coordinates: [move.x, move.y] };
  const properties: Record<string, unknown> = Object.assign({}, held.properties);
  properties.lastPositionAt = move.at;
  properties.updatedAt = move.at;
  properties.speedKmh = move.v ?? null;
  properties.headingDeg = move.h ?? null;
  return { type: 'Feature', id: held.id, geometry, properties };
}
