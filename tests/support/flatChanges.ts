import type { LiveChange, LiveMoves } from '../../src/realtime/contract.js';

/** One move of a `moves` block, as a change of its own. */
export interface FlatMove {
  op: 'move';
  id: string;
  position: string;
  x: number;
  y: number;
  at: string;
  v: number | null;
  h: number | null;
}

export type FlatChange = Exclude<LiveChange, LiveMoves> | FlatMove;

/** A change list one change per position (each move of a `moves` block on its own), for assertions. */
export function flatChanges(changes: readonly LiveChange[]): FlatChange[] {
  const out: FlatChange[] = [];
  for (const change of changes) {
    if (change.op !== 'moves') {
      out.push(change);
      continue;
    }
    for (let i = 0; i < change.id.length; i++) {
      out.push({
        op: 'move',
        id: change.id[i]!,
        position: change.position[i]!,
        x: change.x[i]!,
        y: change.y[i]!,
        at: change.at[i]!,
        v: change.v?.[i] ?? null,
        h: change.h?.[i] ?? null,
      });
    }
  }
  return out;
}
