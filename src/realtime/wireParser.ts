/**
 * The Socket.IO parser of the live gateway: the default wire format (any socket.io-client decodes it), with
 * two savings that matter when one change reaches hundreds of consoles:
 * - a feature's JSON is computed once and reused by every `changes` / `snapshot` message that carries it (twin features
 *   are immutable: a change makes a new object, so a cache keyed by the object is always current);
 * - the recursive scan for binary attachments is skipped (the live contract never sends binary).
 */
import * as parser from 'socket.io-parser';
import type { TwinFeature } from '../twin/changes.js';
import type { ChangesMessage, LiveChange, SnapshotMessage } from './contract.js';

const featureJson = new WeakMap<TwinFeature, string>();

function jsonOfFeature(feature: TwinFeature): string {
  let json = featureJson.get(feature);
  if (json === undefined) {
    json = JSON.stringify(feature);
    featureJson.set(feature, json);
  }
  return json;
}

/** JSON of a change list, with cached feature JSON. */
export function changesListJson(changes: readonly LiveChange[]): string {
  let out = '[';
  for (let i = 0; i < changes.length; i++) {
    const c = changes[i]!;
    if (i > 0) out += ',';
    if (c.op === 'moves') {
      // Arrays of numbers, nulls and plain strings: JSON.stringify is exact and fast on them.
      out += JSON.stringify(c);
      continue;
    }
    out += `{"op":"${c.op}","layer":"${c.layer}","id":${JSON.stringify(c.id)},"position":"${c.position}"`;
    if (c.op === 'upsert') out += `,"feature":${jsonOfFeature(c.feature)}}`;
    else if (c.op === 'patch') {
      if (c.geometry) out += `,"geometry":${JSON.stringify(c.geometry)}`;
      out += c.properties ? `,"properties":${JSON.stringify(c.properties)}}` : '}';
    } else out += '}';
  }
  return `${out}]`;
}

/** JSON of a `changes` message, equal (as JSON) to JSON.stringify of it, with cached feature JSON. */
export function changesMessageJson(message: ChangesMessage): string {
  const changes = changesListJson(message.changes);
  return `{"subscriptionId":${JSON.stringify(message.subscriptionId)},"after":"${message.after}","position":"${message.position}","changes":${changes}}`;
}

/** A snapshot chunk's feature list, encoded once however many consoles it is sent to (the gateway reuses the array). */
const featureListJson = new WeakMap<SnapshotMessage['features'], string>();

/** JSON of a `snapshot` message, with cached feature JSON. */
export function snapshotMessageJson(message: SnapshotMessage): string {
  const { features, ...rest } = message;
  let list = featureListJson.get(features);
  if (list === undefined) {
    list = '[';
    for (let i = 0; i < features.length; i++) {
      const f = features[i]!;
      if (i > 0) list += ',';
      list += `{"layer":"${f.layer}","feature":${jsonOfFeature(f.feature)}}`;
    }
    list += ']';
    featureListJson.set(features, list);
  }
  return `${JSON.stringify(rest).slice(0, -1)},"features":${list}}`;
}

type Packet = { type: number; nsp: string; id?: number; data?: unknown[] };

class LiveEncoder extends parser.Encoder {
  override encode(obj: Packet): string[] {
    const data = obj.data;
    if (
      obj.type === parser.PacketType.EVENT &&
      Array.isArray(data) &&
      data.length === 2 &&
      (data[0] === 'changes' || data[0] === 'snapshot')
    ) {
      let head = `${obj.type}`;
      if (obj.nsp && obj.nsp !== '/') head += `${obj.nsp},`;
      if (obj.id !== undefined && obj.id !== null) head += obj.id;
      const body =
        data[0] === 'changes'
          ? changesMessageJson(data[1] as ChangesMessage)
          : snapshotMessageJson(data[1] as SnapshotMessage);
      return [`${head}["${data[0]}",${body}]`];
    }
    if (obj.type === parser.PacketType.EVENT || obj.type === parser.PacketType.ACK) {
      return [this.plainString(obj as Parameters<parser.Encoder['encode']>[0])];
    }
    return super.encode(obj as Parameters<parser.Encoder['encode']>[0]);
  }

  private plainString(obj: Parameters<parser.Encoder['encode']>[0]): string {
    let str = `${obj.type}`;
    if (obj.nsp && obj.nsp !== '/') str += `${obj.nsp},`;
    if (obj.id !== undefined && obj.id !== null) str += obj.id;
    if (obj.data !== undefined && obj.data !== null) str += JSON.stringify(obj.data);
    return str;
  }
}

/** Pass as `new Server(http, { parser: liveParser })`; clients keep the default parser. */
export const liveParser = { protocol: parser.protocol, Encoder: LiveEncoder, Decoder: parser.Decoder };
