/**
 * A subscription's outbox: the changes waiting to be sent, in position order. Position-only changes of an
 * entity are coalesced (a newer change of the entity replaces the waiting one and moves to the end, so
 * positions stay increasing); every other change is kept. A change of an entity the console already holds
 * carries that feature (`base`) and goes on the wire as a patch (or move) against it; when a waiting change is
 * replaced, the newer one takes over its base, since the console never received the replaced one. The outbox is bounded: past `maxBuffer` waiting changes it
 * empties itself and reports an overflow, and the subscription resynchronises with a snapshot instead.
 */
import type { LayerName, TwinFeature } from '../twin/changes.js';
import type { ChangesMessage, LiveChange } from './contract.js';
import { patchOf } from './featurePatch.js';
import { moveOf, pushMove } from './vehicleMove.js';

export interface OutboxChange {
  op: 'upsert' | 'remove';
  layer: LayerName;
  id: string;
  position: bigint;
  feature?: TwinFeature;
  /** The feature the console holds just before this upsert (absent: none), so that it can go as a patch. */
  base?: TwinFeature | undefined;
  /** May be replaced by a later change of the same entity (position reports). */
  coalescable: boolean;
}

export interface Outbox {
  /** Position the client has been sent through (the next message's `after`). */
  readonly sentThrough: bigint;
  /** Position this outbox has seen through (every change of the city up to it is queued or sent). */
  readonly seenThrough: bigint;
  readonly size: number;
  /** Whether something must be sent: a waiting change that may not be coalesced. */
  readonly urgent: boolean;
  /** Queues a change; returns false when the bound was exceeded (the outbox is then empty). */
  push(change: OutboxChange): boolean;
  /** Records that the city's feed advanced to `position` (also when nothing in view changed). */
  advance(position: bigint): void;
  /** Takes up to `max` changes as one message; undefined when there is nothing new to say. */
  drain(subscriptionId: string, max: number): ChangesMessage | undefined;
  /** As `drain`, but the changes as queued (bigint positions) and the range they cover. */
  take(max: number): { after: bigint; through: bigint; changes: OutboxChange[] } | undefined;
  /** The changes waiting, in order (not removed). */
  pending(): Iterable<OutboxChange>;
  /** Forgets everything waiting and restarts from `position` (after a snapshot). */
  reset(position: bigint): void;
}

/**
 * Queued changes as they go on the wire in a message covering the positions after `after` (positions as
 * decimal strings, a move's as its offset from `after`), in order: a change of a feature the console holds
 * (a base) goes as a move if it is exactly a vehicle's position report (moves that follow each other share
 * one `moves` block), else as a patch; the whole feature otherwise.
 */
export function liveChangesOf(changes: readonly OutboxChange[], after: bigint): LiveChange[] {
  const out: LiveChange[] = [];
  for (const change of changes) {
    const { layer, id } = change;
    if (change.op === 'remove') {
      out.push({ op: 'remove', layer, id, position: change.position.toString() });
      continue;
    }
    const feature = change.feature!;
    const patch = change.base ? patchOf(change.base, feature) : undefined;
    if (!patch) {
      out.push({ op: 'upsert', layer, id, position: change.position.toString(), feature });
      continue;
    }
    const move = layer === 'mobility' ? moveOf(patch, feature) : undefined;
    if (move) pushMove(out, id, Number(change.position - after), move);
    else out.push({ op: 'patch', layer, id, position: change.position.toString(), ...patch });
  }
  return out;
}

/** Creates an outbox starting at `position` (a snapshot's or a resume's `since`). */
export function createOutbox(position: bigint, maxBuffer: number): Outbox {
  // Insertion order is position order: a coalesced change is deleted and re-inserted (with a new serial) at
  // the end. `latest` names each entity's waiting coalescable change, which a newer change of it replaces;
  // a change that may not be coalesced seals it (it stays where it is, and the newer change follows it).
  let waiting = new Map<number, OutboxChange>();
  let latest = new Map<string, number>();
  let serial = 0;
  let sentThrough = position;
  let seenThrough = position;
  let urgentCount = 0;

  const take = (max: number): { after: bigint; through: bigint; changes: OutboxChange[] } | undefined => {
    if (waiting.size === 0 && seenThrough === sentThrough) return undefined;
    const changes: OutboxChange[] = [];
    let through = seenThrough;
    for (const [key, change] of waiting) {
      if (changes.length >= max) {
        // Stop before this one: the message covers exactly the positions of the changes it carries.
        through = changes.length > 0 ? changes[changes.length - 1]!.position : sentThrough;
        break;
      }
      waiting.delete(key);
      if (!change.coalescable) urgentCount -= 1;
      changes.push(change);
    }
    if (waiting.size === 0) latest.clear();
    const after = sentThrough;
    sentThrough = through;
    return { after, through, changes };
  };

  const clear = () => {
    waiting = new Map();
    latest = new Map();
    urgentCount = 0;
  };

  return {
    get sentThrough() {
      return sentThrough;
    },
    get seenThrough() {
      return seenThrough;
    },
    get size() {
      return waiting.size;
    },
    get urgent() {
      return urgentCount > 0;
    },
    push(pushed) {
      let change = pushed;
      if (change.position > seenThrough) seenThrough = change.position;
      const key = `${change.layer}\u0000${change.id}`;
      const replacedAt = latest.get(key);
      // A sent one is no longer waiting (`latest` is pruned lazily).
      const replaced = replacedAt === undefined ? undefined : waiting.get(replacedAt);
      if (replaced) {
        latest.delete(key);
        if (change.coalescable) {
          // The console never gets the replaced change: it holds what it held before that one.
          waiting.delete(replacedAt!);
          const base = replaced.op === 'upsert' ? replaced.base : undefined;
          if (change.op === 'upsert' && change.base !== base) change = { ...change, base };
        }
      }
      serial += 1;
      waiting.set(serial, change);
      if (change.coalescable) latest.set(key, serial);
      else urgentCount += 1;
      if (waiting.size > maxBuffer) {
        clear();
        return false;
      }
      return true;
    },
    advance(p) {
      if (p > seenThrough) seenThrough = p;
    },
    take,
    drain(subscriptionId, max) {
      const taken = take(max);
      if (!taken) return undefined;
      return {
        subscriptionId,
        after: taken.after.toString(),
        position: taken.through.toString(),
        changes: liveChangesOf(taken.changes, taken.after),
      };
    },
    pending() {
      return waiting.values();
    },
    reset(p) {
      clear();
      sentThrough = p;
      seenThrough = p;
    },
  };
}
