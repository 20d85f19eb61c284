import { createHash, randomUUID } from 'node:crypto';

/** A fresh random UUID (v4). */
export function newId(): string {
  return randomUUID();
}

/**
 * A deterministic UUID (RFC 9562 v5, SHA-1 name-based) from a namespace UUID and a name, so that a re-import
 * of the same source feature yields the same event id and is appended only once.
 * @example uuidFromName(IMPORT_NAMESPACE, 'osm:way/123:BuildingRegistered')
 */
export function uuidFromName(namespace: string, name: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Namespace for ids derived by this project (imports, seeds). */
export const URBAN_TWIN_NAMESPACE = '6f1c8d2e-3b4a-5c6d-8e7f-9a0b1c2d3e4f';

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
