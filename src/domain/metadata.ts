import { z } from 'zod';

/**
 * Provenance carried by every recorded event. `actor` is the authenticated identity (never taken from a
 * request body); `occurredAt` is when it happened in the city and may be earlier than the store's
 * `recordedAt`. `prevHash`/`hash` form the per-stream audit chain (see src/audit/).
 */
export const eventMetadataSchema = z.object({
  actor: z.string().min(1).max(200),
  source: z.string().min(1).max(200),
  occurredAt: z.iso.datetime({ offset: true }),
  correlationId: z.string().min(1).max(200),
  causationId: z.string().min(1).max(200).nullable(),
  reason: z.string().max(2_000).optional(),
  prevHash: z.string().optional(),
  hash: z.string().optional(),
});

export type EventMetadata = z.infer<typeof eventMetadataSchema>;
