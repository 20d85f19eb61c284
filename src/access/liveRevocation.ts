import type { Principal } from './roles.js';

/** The part of a Socket.IO namespace this needs: its connected sockets and their principal. */
interface SocketsOf {
  sockets: Map<string, { data: { principal?: Principal }; disconnect(close?: boolean): unknown }>;
}

/**
 * Keys are checked at the Socket.IO handshake; this closes, at once, every live connection opened with a
 * key that is revoked later, so a revocation reaches long-lived consoles too.
 * @example disconnectRevokedKeys(keys, live.io.of('/live'))
 */
export function disconnectRevokedKeys(
  keys: { onRevoked(listener: (keyId: string) => void): () => void },
  namespace: SocketsOf,
): () => void {
  return keys.onRevoked((keyId) => {
    for (const socket of namespace.sockets.values()) {
      if (socket.data.principal?.id === keyId) socket.disconnect(true);
    }
  });
}
