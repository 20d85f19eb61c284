import express, { type RequestHandler, Router } from 'express';
import type { z } from 'zod';
import { ValidationError } from '../../core/errors.js';
import { EVENT_SCHEMAS } from '../../domain/events.js';
import { ENTITY_ID_PATTERN } from '../../domain/streams.js';
import type { ItemResult } from '../../write/types.js';
import { createWriter } from '../../write/writer.js';
import { acceptableId } from '../correlation.js';
import type { AppDeps } from '../deps.js';
import { jsonResponse, problemResponse, registerPaths, registerSchemas, schemaRef } from '../openapi.js';
import { returnPreference } from '../prefer.js';

/** The actor of a request: the authenticated principal, never anything from the body. */
function actorOf(locals: Record<string, unknown>): string {
  const principal = locals.principal as { id?: unknown } | undefined;
  return typeof principal?.id === 'string' && principal.id.length > 0 ? principal.id : 'anonymous';
}

/**
 * `POST /api/v1/cities/{city}/events`: appends a batch of typed domain events, all or nothing.
 * 201 with one result per item; 200 when every item was a retry of stored events; problem+json otherwise.
 */
/**
 * Reads the ingest route's JSON body as text (before the app's JSON parser, which then leaves it alone),
 * so that the write path parses it once, in its parse workers, instead of on the event loop here.
 */
export function ingestBodyText(limit: string): RequestHandler {
  const text = express.text({ limit, type: ['application/json', 'application/*+json'] });
  return (req, res, next) => (req.method === 'POST' ? text(req, res, next) : next());
}

/** The highest global position among the results (decimal strings without leading zeros), null for none. */
function lastPositionOf(results: readonly ItemResult[]): string | null {
  let last: string | null = null;
  for (const { position } of results) {
    if (
      last === null ||
      position.length > last.length ||
      (position.length === last.length && position > last)
    )
      last = position;
  }
  return last;
}

export function ingestRoutes(deps: AppDeps): Router {
  const router = Router();
  const writer = deps.writer ?? createWriter({ store: deps.store, clock: deps.clock });
  const maxBatch = deps.config.MAX_BATCH_SIZE;

  router.post('/cities/:city/events', async (req, res) => {
    // The body arrives as its text (see ingestBodyText): parsed, with every item, off the event loop.
    if (typeof req.body !== 'string') {
      throw new ValidationError('The body must be a JSON object sent as application/json', [
        { field: '(body)', value: req.get('content-type'), message: 'expected application/json' },
      ]);
    }
    const now = deps.clock.now();
    const body = await writer.parseBody(req.params.city, req.body, now, maxBatch);
    const source = body.source ?? req.get('x-source') ?? 'http-ingest';
    if (source.length > 200) {
      throw new ValidationError('X-Source is too long', [
        { field: 'X-Source', value: source, message: 'at most 200 characters' },
      ]);
    }
    const causationId = acceptableId(req.get('x-causation-id')) ?? null;
    const outcome = await writer.appendParsed(req.params.city, body.items, {
      actor: actorOf(res.locals),
      source,
      correlationId: res.locals.correlationId as string,
      causationId,
      now,
      ...(body.reason !== undefined ? { reason: body.reason } : {}),
    });
    // `Prefer: return=minimal` (RFC 7240): a feeder that only needs to know the batch landed is answered
    // with a summary instead of one result per item (~150 bytes each to write, send and read).
    const minimal = returnPreference(req.get('prefer')) === 'minimal';
    const answer = minimal
      ? {
          correlationId: res.locals.correlationId,
          appended: outcome.appended,
          duplicates: outcome.results.length - outcome.appended,
          lastPosition: lastPositionOf(outcome.results),
        }
      : { correlationId: res.locals.correlationId, appended: outcome.appended, results: outcome.results };
    if (minimal) res.set('Preference-Applied', 'return=minimal');
    // Sent as text rather than with res.json: express would hash every answer for an ETag, which no client
    // of a POST can use (a batch of 1,000 results: ~0.4 us per event, measured in the ingest benchmark).
    res
      .status(outcome.appended > 0 ? 201 : 200)
      .set('content-type', 'application/json; charset=utf-8')
      .end(JSON.stringify(answer));
  });

  return router;
}

// ---- OpenAPI: one component per event type's data, one per ingest item, and a oneOf of the items ----

const itemNames: string[] = [];
for (const [kind, schemas] of Object.entries(EVENT_SCHEMAS)) {
  for (const [type, schema] of Object.entries(schemas)) {
    registerSchemas({ [type]: schema as z.ZodType });
    const item = {
      type: 'object',
      description: `A ${type} event for the ${kind} stream${kind === 'city' ? ' (the city itself: no entityId)' : ''}`,
      required: kind === 'city' ? ['type', 'data'] : ['type', 'entityId', 'data'],
      additionalProperties: false,
      properties: {
        id: {
          type: 'string',
          format: 'uuid',
          description: 'idempotency key: a retry with it writes nothing twice',
        },
        type: { const: type },
        ...(kind === 'city' ? {} : { entityId: { type: 'string', pattern: ENTITY_ID_PATTERN.source } }),
        data: schemaRef(type),
        occurredAt: { type: 'string', format: 'date-time', description: 'when it happened (default: now)' },
        reason: { type: 'string', maxLength: 2000 },
      },
    };
    registerSchemas({ [`${type}Item`]: item });
    itemNames.push(`${type}Item`);
  }
}
registerSchemas({
  IngestItem: {
    oneOf: itemNames.map(schemaRef),
    discriminator: {
      propertyName: 'type',
      mapping: Object.fromEntries(itemNames.map((n) => [n.slice(0, -4), `#/components/schemas/${n}`])),
    },
  },
  IngestBatch: {
    type: 'object',
    required: ['events'],
    additionalProperties: false,
    properties: {
      events: { type: 'array', minItems: 1, items: schemaRef('IngestItem') },
      source: { type: 'string', maxLength: 200 },
      reason: { type: 'string', maxLength: 2000 },
    },
  },
  IngestResult: {
    type: 'object',
    required: ['correlationId', 'appended', 'results'],
    properties: {
      correlationId: { type: 'string' },
      appended: { type: 'integer' },
      results: {
        type: 'array',
        items: {
          type: 'object',
          required: ['index', 'id', 'type', 'stream', 'revision', 'position', 'duplicate'],
          properties: {
            index: { type: 'integer' },
            id: { type: 'string', format: 'uuid' },
            type: { type: 'string' },
            stream: { type: 'string' },
            revision: { type: 'integer' },
            position: {
              type: 'string',
              pattern: '^[0-9]+$',
              description: 'global position (decimal string)',
            },
            duplicate: { type: 'boolean', description: 'the id was already stored; nothing was written' },
          },
        },
      },
    },
  },
  IngestSummary: {
    type: 'object',
    description: 'The answer asked for with `Prefer: return=minimal`',
    required: ['correlationId', 'appended', 'duplicates', 'lastPosition'],
    properties: {
      correlationId: { type: 'string' },
      appended: { type: 'integer' },
      duplicates: {
        type: 'integer',
        description: 'items already stored (retries); nothing written for them',
      },
      lastPosition: {
        type: ['string', 'null'],
        pattern: '^[0-9]+$',
        description: "the highest global position among the batch's events (decimal string)",
      },
    },
  },
});

registerPaths({
  '/api/v1/cities/{city}/events': {
    post: {
      summary: 'Append a batch of domain events (validated and decided as a whole; all or nothing)',
      tags: ['ingest'],
      security: [{ bearer: [] }, { apiKey: [] }],
      parameters: [
        {
          name: 'city',
          in: 'path',
          required: true,
          schema: { type: 'string', pattern: '^[a-z][a-z0-9-]{1,62}$' },
        },
        { name: 'X-Correlation-Id', in: 'header', schema: { type: 'string' } },
        { name: 'X-Source', in: 'header', schema: { type: 'string' } },
        { name: 'X-Causation-Id', in: 'header', schema: { type: 'string' } },
        {
          name: 'Prefer',
          in: 'header',
          description:
            '`return=minimal` (RFC 7240): answer with IngestSummary instead of one result per item (then `Preference-Applied: return=minimal`)',
          schema: { type: 'string' },
        },
      ],
      requestBody: {
        required: true,
        content: { 'application/json': { schema: schemaRef('IngestBatch') } },
      },
      responses: {
        '201': jsonResponse('appended', {
          oneOf: [schemaRef('IngestResult'), schemaRef('IngestSummary')],
        }),
        '200': jsonResponse('every event was already stored (a retry); nothing written', {
          oneOf: [schemaRef('IngestResult'), schemaRef('IngestSummary')],
        }),
        '400': problemResponse('malformed JSON or an invalid event (errors name index, field, value)'),
        '401': problemResponse('no valid API key'),
        '403': problemResponse('the key may not write to this city'),
        '409': problemResponse('a stream changed meanwhile, or an id is already used by another event'),
        '413': problemResponse('the body or the batch is too large'),
        '422': problemResponse('a domain rule rejected an event (errors name index, field, value)'),
      },
    },
  },
});
