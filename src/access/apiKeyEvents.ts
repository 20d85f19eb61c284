import { z } from 'zod';
import { CITY_ID_PATTERN } from '../domain/streams.js';
import { ROLES } from './roles.js';

/**
 * API keys are event-sourced like everything else, in streams `apikey-<keyId>`, so they work on every store
 * adapter and their creation and revocation are themselves audited and hash-chained. The twin's projections
 * ignore the `apikey` category.
 */
export const API_KEY_STREAM_PREFIX = 'apikey-';

export function apiKeyStream(keyId: string): string {
  return `${API_KEY_STREAM_PREFIX}${keyId}`;
}

export const cityScopeSchema = z.union([
  z.literal('*'),
  z.array(z.string().regex(CITY_ID_PATTERN, 'city id must be a lower-case slug')).min(1).max(100),
]);

export const apiKeyCreatedSchema = z.strictObject({
  keyId: z.string().regex(/^[0-9a-f]{16}$/),
  /** Hex SHA-256 of the key; the key itself is never stored. */
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  role: z.enum(ROLES),
  cities: cityScopeSchema,
  label: z.string().max(200),
});

export const apiKeyRevokedSchema = z.strictObject({
  keyId: z.string().regex(/^[0-9a-f]{16}$/),
});

export type ApiKeyCreated = { type: 'ApiKeyCreated'; data: z.infer<typeof apiKeyCreatedSchema> };
export type ApiKeyRevoked = { type: 'ApiKeyRevoked'; data: z.infer<typeof apiKeyRevokedSchema> };
export type ApiKeyEvent = ApiKeyCreated | ApiKeyRevoked;
