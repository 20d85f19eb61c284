/**
 * What a console holds for one subscription, rebuilt from the messages it receives, with the protocol's
 * continuity checks: each `changes` message must start where the previous one ended (no gap) and carry
 * positions in order, never at or below what was already applied (no duplicate). A `patch` is merged into the
 * feature held (`applyPatch`), each move of a `moves` block sets the vehicle's point and report fields
 * (`applyMove`); either naming a feature the view does not hold is counted as a gap, since the server only
 * patches what the client was sent. The view owns the features of the messages it is given: moves update
 * them in place (messages decoded off the wire are the console's own; a caller that keeps a feature it passed
 * in must pass a copy). Used by tests and the benchmark, and a reference for client authors.
 */
import type { LayerName, TwinFeature } from '../twin/changes.js';
import type { ChangesMessage, SnapshotMessage } from './contract.js';
import { applyPatch } from './featurePatch.js';
import { applyMove, movePosition, resolveMoveTimes } from './vehicleMove.js';

export interface ClientView {
  /** `layer:id` -> feature. */
  readonly features: Map<string, TwinFeature>;
  /** The last position received: what to send as `since` after a reconnect. */
  readonly position: bigint | undefined;
  /** Continuity violations seen (empty when the stream was exact). */
  readonly gaps: string[];
  readonly duplicates: string[];
  readonly resyncs: number;
  /** Whether the last snapshot is complete (all chunks received). */
  readonly complete: boolean;
  applySnapshot(message: SnapshotMessage): void;
  applyChanges(message: ChangesMessage): void;
}

/** A fresh view; `since` when resuming a view that already holds state. */
export function createClientView(): ClientView {
  const features = new Map<string, TwinFeature>();
  // The mobility layer's features again, by bare id: a move looks its vehicle up with the id it was sent,
  // without building a `mobility:<id>` key per move (about 0.3 us each on a console's hot path).
  const vehicles = new Map<string, TwinFeature>();
  const hold = (layer: LayerName, id: string, feature: TwinFeature) => {
    features.set(`${layer}:${id}`, feature);
    if (layer === 'mobility') vehicles.set(id, feature);
  };
  const drop = (layer: LayerName, id: string) => {
    features.delete(`${layer}:${id}`);
    if (layer === 'mobility') vehicles.delete(id);
  };
  let position: bigint | undefined;
  let pendingChunks = 0;
  let snapshotPosition: bigint | undefined;
  const gaps: string[] = [];
  const duplicates: string[] = [];
  let resyncs = 0;
  return {
    features,
    get position() {
      return position;
    },
    gaps,
    duplicates,
    get resyncs() {
      return resyncs;
    },
    get complete() {
      return pendingChunks === 0;
    },
    applySnapshot(m) {
      if (m.chunk === 0) {
        features.clear();
        vehicles.clear();
        snapshotPosition = BigInt(m.position);
        pendingChunks = m.chunks;
        if (m.reason === 'resync') resyncs++;
      }
      for (const { layer, feature } of m.features) hold(layer, feature.id, feature);
      pendingChunks--;
      if (pendingChunks === 0) position = snapshotPosition;
    },
    applyChanges(m) {
      const after = BigInt(m.after);
      const to = BigInt(m.position);
      if (position !== undefined && after !== position) {
        (after > position ? gaps : duplicates).push(`message after ${after} while at ${position}`);
      }
      // Positions are checked as offsets from `after` (moves carry theirs; others' are computed): plain
      // numbers on the console's hot path, not a BigInt or a string comparison per change. A message spans
      // far fewer than 2^53 positions.
      const span = Number(to - after);
      let last = 1;
      /** Whether a change at `offset` keeps the message's positions in order and inside its range. */
      const inOrder = (offset: number) => {
        const ok = offset >= last && offset <= span;
        if (offset > last) last = offset;
        return ok;
      };
      const disorder = (p: string) => `change at ${p} outside (${m.after}, ${m.position}] or out of order`;
      for (const change of m.changes) {
        if (change.op === 'moves') {
          if (!resolveMoveTimes(change)) {
            gaps.push(`moves block after ${m.after} opens without a time`);
            continue;
          }
          const offsets = change.offset;
          for (let i = 0; i < change.id.length; i++) {
            if (!inOrder(offsets[i]!)) duplicates.push(disorder(movePosition(m.after, change, i)));
            const held = vehicles.get(change.id[i]!);
            if (held) applyMove(held, change, i);
            else {
              const p = movePosition(m.after, change, i);
              gaps.push(`move at ${p} of mobility:${change.id[i]}, which the view does not hold`);
            }
          }
          continue;
        }
        const p = change.position;
        if (!inOrder(Number(BigInt(p) - after))) duplicates.push(disorder(p));
        if (change.op === 'upsert') hold(change.layer, change.id, change.feature);
        else if (change.op === 'patch') {
          const held = features.get(`${change.layer}:${change.id}`);
          // A patch is only ever sent for a feature the client holds: one it lacks means it missed something.
          if (held) hold(change.layer, change.id, applyPatch(held, change));
          else gaps.push(`patch at ${p} of ${change.layer}:${change.id}, which the view does not hold`);
        } else drop(change.layer, change.id);
      }
      position = to;
    },
  };
}
