/**
 * One group frame written to many sockets without encoding it per socket. A `changes` packet is laid out as
 * `2/live,<ack id>["changes",{"subscriptionId":…,"after":…,"position":…,"changes":` (a few dozen bytes that
 * differ per socket) followed by the change list and `}]` (the bulk, the same for every socket of the group).
 * The bulk is UTF-8 encoded once; each socket gets a small head buffer and the shared bulk buffer as one
 * WebSocket text frame, through the same pre-encoded frame path Socket.IO's own broadcasts use
 * (`wsPreEncodedFrame`). The packet's text is still handed to Engine.IO (as a rope, not flattened), so a
 * socket that cannot take the pre-encoded frame (long-polling, compression) gets the same bytes the usual way.
 * What goes on the wire is exactly what the default parser would produce for the message (any
 * socket.io-client decodes it); an ack, when asked for, is registered as `socket.emit(..., ack)` would.
 */
import type { Socket } from 'socket.io';
import type { LiveChange } from './contract.js';
import { changesListJson } from './wireParser.js';

/** A change list encoded once: its text (for fallbacks) and its bytes. */
export interface SharedBody {
  text: string;
  bytes: Buffer;
}

/** Encodes the part of a `changes` packet that every member of a group shares. */
export function sharedBodyOf(changes: readonly LiveChange[]): SharedBody {
  const text = `${changesListJson(changes)}}]`;
  return { text, bytes: Buffer.from(text) };
}

/** The Socket.IO and Engine.IO members the shared path relies on (the same the in-memory adapter uses). */
interface SocketInternals {
  connected: boolean;
  nsp: { name: string; _ids: number; server: { opts: { connectionStateRecovery?: unknown } } };
  acks: Map<number, (...args: unknown[]) => void>;
  client: {
    conn: { readyState: string };
    writeToEngine(packets: string[], opts: Record<string, unknown>): void;
  };
}

/** The header of an unmasked, final WebSocket text frame of `length` payload bytes, then `head`. */
function frameStart(length: number, head: string, headBytes: number): Buffer {
  const size = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const out = Buffer.allocUnsafe(size + headBytes);
  out[0] = 0x81;
  if (size === 2) out[1] = length;
  else if (size === 4) {
    out[1] = 126;
    out.writeUInt16BE(length, 2);
  } else {
    out[1] = 127;
    out.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    out.writeUInt32BE(length >>> 0, 6);
  }
  out.write(head, size, 'utf8');
  return out;
}

/**
 * Sends `{subscriptionId, after, position, changes}` (changes already encoded in `body`), asking for an
 * acknowledgement when given `ack` (the packet then carries an ack id).
 * Returns false, having sent nothing, when the socket's internals are not as expected (the caller then
 * emits the message the usual way).
 */
export function emitSharedChanges(
  socket: Socket,
  subscriptionId: string,
  after: string,
  position: string,
  body: SharedBody,
  ack: (() => void) | undefined,
): boolean {
  const s = socket as unknown as SocketInternals;
  if (
    !s.connected ||
    !(s.acks instanceof Map) ||
    typeof s.client?.writeToEngine !== 'function' ||
    typeof s.nsp?._ids !== 'number' ||
    s.nsp.server?.opts?.connectionStateRecovery
  ) {
    return false;
  }
  // A closed connection drops the packet, as Socket.IO's own write would.
  if (s.client.conn.readyState !== 'open') return true;
  let id = '';
  if (ack) {
    const n = s.nsp._ids++;
    s.acks.set(n, ack);
    id = String(n);
  }
  const nsp = s.nsp.name !== '/' ? `${s.nsp.name},` : '';
  const head = `2${nsp}${id}["changes",{"subscriptionId":${JSON.stringify(subscriptionId)},"after":"${after}","position":"${position}","changes":`;
  // Engine.IO's "message" packet type precedes the Socket.IO packet in the WebSocket frame.
  const headBytes = Buffer.byteLength(head) + 1;
  const start = frameStart(headBytes + body.bytes.length, `4${head}`, headBytes);
  s.client.writeToEngine([head + body.text], {
    preEncoded: true,
    compress: true,
    wsPreEncodedFrame: [start, body.bytes],
  });
  return true;
}
