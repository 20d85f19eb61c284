import { z } from 'zod';
import { AppError, PayloadTooLargeError, ValidationError } from '../core/errors.js';
import { validationErrorFromZod } from '../core/zodIssues.js';
import { type ParsedItem, parseItems } from './parseItems.js';

/** The body of `POST /api/v1/cities/{city}/events`; items are parsed one by one (parseItems.ts). */
export const batchBodySchema = z.strictObject({
  events: z.array(z.unknown()).min(1, 'a batch holds at least one event'),
  /** Where the data comes from (a system, a file); also accepted as the `X-Source` header. */
  source: z.string().min(1).max(200).optional(),
  /** Why, for the audit trail; the default for items without their own reason. */
  reason: z.string().max(2_000).optional(),
});

/** A parsed ingest body: its items (all, or the slice asked for) and the batch's own source and reason. */
export interface ParsedBody {
  items: ParsedItem[];
  /** How many items the batch holds (also when only a slice was parsed). */
  size: number;
  source: string | undefined;
  reason: string | undefined;
}

/**
 * Parses an ingest body from its JSON text, in the order the errors are reported: malformed JSON (400),
 * not an object (400), more than `maxBatch` events (413, before anything else is looked at), the body's
 * fields (400), then each item (400 naming index, field and value). With `share` = [k, n], only the k-th
 * of n equal parts of the items is parsed (the body itself is checked whole): a worker's share of a batch.
 */
export function parseBatchBody(
  city: string,
  text: string,
  now: Date,
  maxBatch: number,
  share: [number, number] = [0, 1],
): ParsedBody {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // the answer body-parser gives for every other JSON route
    throw new AppError(400, 'malformed-json', 'The request body is not valid JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationError('The body must be a JSON object', [
      { field: '(body)', value: Array.isArray(body) ? 'array' : body, message: 'expected a JSON object' },
    ]);
  }
  const events = (body as { events?: unknown }).events;
  if (Array.isArray(events) && events.length > maxBatch) {
    throw new PayloadTooLargeError(
      `A batch holds at most ${maxBatch} events; this one has ${events.length}`,
      [{ field: 'events', value: events.length, message: `at most ${maxBatch} events per batch` }],
    );
  }
  const parsed = batchBodySchema.safeParse(body);
  if (!parsed.success) throw validationErrorFromZod(parsed.error, { input: body, what: 'Invalid batch' });
  const all = parsed.data.events;
  const [part, parts] = share;
  const size = Math.ceil(all.length / parts);
  const items = parseItems(city, all.slice(part * size, (part + 1) * size), now, part * size);
  return { items, size: all.length, source: parsed.data.source, reason: parsed.data.reason };
}
