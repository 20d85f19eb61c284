/**
 * The compact form of the most frequent change on the wire: a vehicle of the mobility layer, already held by
 * the console, moved to a new point with one position report. All that changes in its feature is the point,
 * `lastPositionAt` and `updatedAt` (both the report's time), and `speedKmh` / `headingDeg` (the report's, or
 * null when it has none), so the change is sent as one entry of a `moves` block (`LiveMoves`: columns id,
 * offset, x, y, at, v, h) instead of a patch that repeats the layer, the geometry's type and the property
 * names; the v and h columns are left out of a block none of whose moves has a speed / a heading. The server
 * sends a move only when applying it to what the console holds gives exactly the twin's feature; anything
 * else stays a patch. A move's position goes as its offset from the message's `after`, and a time equal to
 * the move before it as null (`LiveMoves`).
 */
import type { Point } from 'geojson';
import type { TwinFeature } from '../twin/changes.js';
import type { LiveChange, LiveMoves } from './contract.js';
import type { FeaturePatch } from './featurePatch.js';

/** The properties a position report sets; a move sets all four. */
const MOVE_PROPERTIES = ['lastPositionAt', 'updatedAt', 'speedKmh', 'headingDeg'] as const;
const MOVED = new Set<string>(MOVE_PROPERTIES);
const FEATURE_MEMBERS = new Set(['type', 'id', 'geometry', 'properties']);

/** What a move carries besides its id and position. */
export interface MoveFields {
  x: number;
  y: number;
  at: string;
  v: number | null;
  h: number | null;
}

/**
 * The move that says `patch` (the patch turning the held feature into `feature`, from `patchOf`), or
 * undefined when it says more than a position report: a property other than the four changed, the two times
 * differ, the geometry is not a plain 2D point.
 */
export function moveOf(patch: FeaturePatch, feature: TwinFeature): MoveFields | undefined {
  if (patch.properties) for (const key in patch.properties) if (!MOVED.has(key)) return undefined;
  // `applyMove` sets only the geometry and the four properties, so the feature may have no other members
  // that could differ (the patch says the held feature has the same ones).
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
  return { x: coordinates[0]!, y: coordinates[1]!, at, v, h };
}

/** The time of each block's last move (its `at` column holds null where a time repeats). */
const lastTime = new WeakMap<LiveMoves, string>();

/**
 * Appends a move at `offset` past the message's `after` to a change list: to the `moves` block the list ends
 * with, or as a new block, so that moves following each other share one block and the list stays in
 * position order.
 */
export function pushMove(changes: LiveChange[], id: string, offset: number, move: MoveFields): void {
  const last = changes[changes.length - 1];
  let block: LiveMoves;
  if (last?.op === 'moves') block = last;
  else {
    block = { op: 'moves', id: [], offset: [], x: [], y: [], at: [] };
    changes.push(block);
  }
  const before = block.id.length;
  block.id.push(id);
  block.offset.push(offset);
  block.x.push(move.x);
  block.y.push(move.y);
  block.at.push(before > 0 && lastTime.get(block) === move.at ? null : move.at);
  lastTime.set(block, move.at);
  // The speed and heading columns start with the first move that has one (nulls for the moves before it)
  if (block.v) block.v.push(move.v);
  else if (move.v !== null) block.v = [...new Array<null>(before).fill(null), move.v];
  if (block.h) block.h.push(move.h);
  else if (move.h !== null) block.h = [...new Array<null>(before).fill(null), move.h];
}

/**
 * Gives every move of a block decoded off the wire its own time, in place (a null repeats the time before
 * it), so that `applyMove` can read `at[i]`; the moves then share the one string of their request. Returns
 * false, changing nothing, when the block opens with a null (it names no time to repeat).
 */
export function resolveMoveTimes(moves: LiveMoves): boolean {
  const at = moves.at;
  if (at.length > 0 && at[0] === null) return false;
  for (let i = 1; i < at.length; i++) if (at[i] === null) at[i] = at[i - 1]!;
  return true;
}

/** Move `i`'s global position, as a decimal string, in a message that covers positions after `after`. */
export function movePosition(after: string, moves: LiveMoves, i: number): string {
  return (BigInt(after) + BigInt(moves.offset[i]!)).toString();
}

/**
 * Applies move `i` of a block (its times resolved: `resolveMoveTimes`) to the feature a console holds, in
 * place: a console owns the features it decoded, and a copy of ~20 properties per update (and the garbage it
 * leaves) would be most of its work.
 */
export function applyMove(held: TwinFeature, moves: LiveMoves, i: number): void {
  const x = moves.x[i]!;
  const y = moves.y[i]!;
  const geometry = held.geometry;
  if (geometry?.type === 'Point' && geometry.coordinates.length === 2) {
    geometry.coordinates[0] = x;
    geometry.coordinates[1] = y;
  } else held.geometry = { type: 'Point', coordinates: [x, y] } satisfies Point;
  const properties = held.properties;
  const at = moves.at[i]!;
  properties.lastPositionAt = at;
  properties.updatedAt = at;
  properties.speedKmh = moves.v?.[i] ?? null;
  properties.headingDeg = moves.h?.[i] ?? null;
}
