import type { ZodType } from 'zod';
import { type FieldIssue, ValidationError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { validationErrorFromZod } from '../core/zodIssues.js';
import { type DomainEvent, EVENT_TYPES, eventDefinition, type StreamKindOfEvent } from '../domain/events.js';
import { compileFastParser, type FastParser, REJECTED } from '../domain/fastParse.js';
import { FUTURE_TOLERANCE_MS } from '../domain/rules.js';
import { cityStream, entityStream } from '../domain/streams.js';
import type { ParsedBody } from './batchBody.js';
import { type CanonicalWriter, compileCanonicalWriter } from './canonicalData.js';
import { type ProposedItem, proposedItemSchema } from './types.js';

/**
 * The first step of the write pipeline: each proposed item checked against its envelope and its event
 * type's schema (unknown fields rejected), the time it claims checked against now, and its stream named.
 * It needs no state, so it can run anywhere: in process, or in the parse workers (parseWorkers.ts).
 */

/** A parsed, typed item: its event, the stream it belongs to, and its id (given or fresh). */
export interface ParsedItem {
  index: number;
  id: string;
  idGiven: boolean;
  event: DomainEvent;
  /** The canonical JSON of `event.data` (carried to the hash and the store's row); undefined when not written. */
  dataText: string | undefined;
  kind: StreamKindOfEvent;
  entityId: string | undefined;
  stream: string;
  occurredAt: string | undefined;
  reason: string | undefined;
}

export function fail(index: number, field: string, value: unknown, message: string): never {
  const issue: FieldIssue = { index, field, value, message };
  throw new ValidationError(
    `Event at index ${index}: ${field} ${message} (value: ${JSON.stringify(value) ?? 'undefined'})`,
    [issue],
  );
}

/**
 * Exactly valid items (nearly all of them) are parsed by parsers compiled from the zod schemas
 * (domain/fastParse.ts), which return what zod would; anything else goes through zod itself, so a bad
 * item's error is zod's own.
 */
const fastEnvelope = compileFastParser(proposedItemSchema);

/** Per event type: its compiled parser and canonical data writer (canonicalData.ts), once. */
const compiled = new Map<string, { parse: FastParser | undefined; canonical: CanonicalWriter | undefined }>();

function compiledFor(type: string, schema: ZodType) {
  let entry = compiled.get(type);
  if (!entry) {
    entry = { parse: compileFastParser(schema), canonical: compileCanonicalWriter(schema) };
    compiled.set(type, entry);
  }
  return entry;
}

export function parseItem(city: string, input: unknown, index: number, now: Date): ParsedItem {
  let item = (fastEnvelope ? fastEnvelope(input) : REJECTED) as ProposedItem | typeof REJECTED;
  if (item === REJECTED) {
    const envelope = proposedItemSchema.safeParse(input);
    if (!envelope.success) {
      throw validationErrorFromZod(envelope.error, { input, index, what: 'Invalid event' });
    }
    item = envelope.data;
  }
  const definition = eventDefinition(item.type);
  if (!definition) {
    fail(index, 'type', item.type, `is not an event type (one of ${EVENT_TYPES.join(', ')})`);
  }
  const { parse: fast, canonical } = compiledFor(item.type, definition.schema);
  let data = fast ? fast(item.data) : REJECTED;
  if (data === REJECTED) {
    const parsed = definition.schema.safeParse(item.data);
    if (!parsed.success) {
      throw validationErrorFromZod(parsed.error, {
        input: item.data,
        index,
        prefix: 'data',
        what: 'Invalid event',
      });
    }
    data = parsed.data;
  }
  // The data's canonical JSON, written once here for the hash and the store's row (NewEvent.dataText)
  const dataText =
    canonical && typeof data === 'object' && data !== null ? canonicalText(canonical, data) : undefined;
  if (item.occurredAt && Date.parse(item.occurredAt) > now.getTime() + FUTURE_TOLERANCE_MS) {
    fail(index, 'occurredAt', item.occurredAt, `is in the future (now is ${now.toISOString()})`);
  }
  let stream: string;
  if (definition.kind === 'city') {
    if (item.entityId !== undefined && item.entityId !== city) {
      fail(
        index,
        'entityId',
        item.entityId,
        `must be absent for a city event (the stream is the city's own)`,
      );
    }
    stream = cityStream(city);
  } else {
    if (item.entityId === undefined) fail(index, 'entityId', undefined, `is required for ${item.type}`);
    stream = entityStream(definition.kind, city, item.entityId);
  }
  return {
    index,
    id: item.id ?? newId(),
    idGiven: item.id !== undefined,
    event: { type: item.type, data } as DomainEvent,
    dataText,
    kind: definition.kind,
    entityId: definition.kind === 'city' ? undefined : item.entityId,
    stream,
    occurredAt: item.occurredAt,
    reason: item.reason,
  };
}

/** The text, or undefined when it cannot be written (a lone surrogate): that is reported where it always was, at sealing. */
function canonicalText(write: CanonicalWriter, data: object): string | undefined {
  try {
    return write(data);
  } catch {
    return undefined;
  }
}

/**
 * Parses a batch's items in order (throws on the first bad one, naming its index, field and value);
 * `offset` is the batch index of the first, when these are a part of the batch.
 */
export function parseItems(city: string, items: readonly unknown[], now: Date, offset = 0): ParsedItem[] {
  return items.map((item, i) => parseItem(city, item, offset + i, now));
}

/**
 * Something that parses batches off the caller's thread (parseWorkers.ts); the writer falls back to
 * parseItems / parseBatchBody in process.
 */
export interface ItemParser {
  /** A batch's items, as parseItems parses them. */
  parse(city: string, items: readonly unknown[], now: Date): Promise<ParsedItem[]>;
  /** An ingest body from its JSON text, as parseBatchBody (batchBody.ts) parses it. */
  parseBody(city: string, text: string, now: Date, maxBatch: number): Promise<ParsedBody>;
  close(): Promise<void>;
}
