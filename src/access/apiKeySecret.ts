import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API key secrets. A key is `ut_<keyId>_<secret>` where the secret is 32 random bytes (256 bits) in
 * base64url. Only SHA-256(key) is stored. A fast, unsalted hash is adequate here, unlike for passwords:
 * with 256 bits of entropy no dictionary or brute-force search of the preimage is feasible, so the
 * work factor of bcrypt/argon2 would buy nothing, and a deterministic hash lets a request's key be found
 * by its hash in O(1) without storing anything reversible.
 */
export const KEY_PREFIX = 'ut_';
const KEY_ID_PATTERN = /^[0-9a-f]{16}$/;
const KEY_PATTERN = /^ut_([0-9a-f]{16})_[A-Za-z0-9_-]{43}$/;
/** Keys supplied from outside (ADMIN_KEY) must be at least this long to carry enough entropy. */
export const MIN_PRESET_KEY_LENGTH = 32;

/** A fresh key id (64 random bits, hex): public, used in stream names, listings and as the event actor. */
export function newKeyId(): string {
  return randomBytes(8).toString('hex');
}

/** A fresh secret key for `keyId`; shown once to its owner, never stored. */
export function newApiKey(keyId: string): string {
  if (!KEY_ID_PATTERN.test(keyId)) throw new Error(`Invalid key id: ${keyId}`);
  return `${KEY_PREFIX}${keyId}_${randomBytes(32).toString('base64url')}`;
}

/** The stored form of a key: hex SHA-256 of the whole key string. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** The key id embedded in a key this system generated, if any (preset keys carry none). */
export function keyIdOf(key: string): string | undefined {
  return KEY_PATTERN.exec(key)?.[1];
}

export function isKeyId(value: string): boolean {
  return KEY_ID_PATTERN.test(value);
}

/** Constant-time comparison of two hex digests of equal length. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}
