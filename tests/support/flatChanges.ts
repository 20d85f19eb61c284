import type { ChangesMessage, LiveChange, LiveMoves } from '../../src/realtime/contract.js';
import { movePosition } from '../../src/realtime/vehicleMove.js';

/** One move of a `moves` block, as a change of its own, with its global position and time resolved. */
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

/**
 * The changes of one or more messages, one change per position (each move of a `moves` block on its own,
 * its position computed from the message's `after` and a null time taken from the move before it), for
 * assertions. Leaves the messages as they are.
 */
export function flatChanges(messages: ChangesMessage | readonly ChangesMessage[]): FlatChange[] {
  const out: FlatChange[] = [];
  for (const message of Array.isArray(messages) ? messages : [messages as ChangesMessage]) {
    for (const change of message.changes) {
      if (change.op !== 'moves') {
        out.push(change);
        continue;
      }
      let at: string | null = null;
      for (let i = 0; i < change.id.length; i++) {
        at = change.at[i] ?? at;
        if (at === null) throw new Error(`moves block after ${message.after} opens without a time`);
        out.push({
          op: 'move',
          id: change.id[i]!,
          position: movePosition(message.after, change, i),
          x: change.x[i]!,
          y: change.y[i]!,
          at,
          v: change.v?.[i] ?? null,
          h: change.h?.[i] ?? null,
        });
      }
    }
  }
  return out;
}
