import { once } from 'node:events';
import type { Request, Response } from 'express';
import { Router } from 'express';
import { z } from 'zod';
import type { KeyRegistry } from '../../access/keyRegistry.js';
import { scenarioCityFromStore } from '../../access/scenarioCity.js';
import { entityHistory } from '../../audit/entityHistory.js';
import { type AuditEventQuery, auditPage, scanEvents, toAuditEvent } from '../../audit/eventQuery.js';
import { verifyChains } from '../../audit/verify.js';
import { NotFoundError } from '../../core/errors.js';
import { CITY_ID_PATTERN, ENTITY_ID_PATTERN } from '../../domain/streams.js';
import type { AppDeps } from '../deps.js';
import { jsonResponse, problemResponse, registerPaths } from '../openapi.js';
import { validationErrorFromZod } from '../problem.js';

const cityId = z.string().regex(CITY_ID_PATTERN, 'must be a lower-case city id');
const isoTime = z.iso.datetime({ offset: true });
const text = z.string().min(1).max(200);

const eventsQuery = z.strictObject({
  city: cityId.optional(),
  actor: text.optional(),
  source: text.optional(),
  /** One type or a comma-separated list. */
  type: z
    .string()
    .max(2_000)
    .regex(/^[A-Za-z]+(,[A-Za-z]+)*$/, 'must be event type names separated by commas')
    .optional(),
  correlationId: text.optional(),
  recordedFrom: isoTime.optional(),
  recordedTo: isoTime.optional(),
  occurredFrom: isoTime.optional(),
  occurredTo: isoTime.optional(),
  /** The position to resume at, as returned in `nextCursor`. */
  cursor: z
    .string()
    .regex(/^\d{1,30}$/, 'must be a position returned as nextCursor')
    .optional(),
  limit: z.coerce.number().int().min(1).max(1_000).optional(),
  format: z.enum(['json', 'ndjson']).optional(),
});

const verifyQuery = z.strictObject({ city: cityId.optional() });
const entityParams = z.strictObject({
  city: cityId,
  id: z.string().regex(ENTITY_ID_PATTERN, 'must be an entity id'),
});

function parse<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw validationErrorFromZod(parsed.error, { input, what });
  return parsed.data;
}

function toQuery(q: z.infer<typeof eventsQuery>): AuditEventQuery {
  const out: AuditEventQuery = {};
  if (q.city) out.city = q.city;
  if (q.actor) out.actor = q.actor;
  if (q.source) out.source = q.source;
  if (q.type) out.types = q.type.split(',');
  if (q.correlationId) out.correlationId = q.correlationId;
  if (q.recordedFrom) out.recordedFrom = q.recordedFrom;
  if (q.recordedTo) out.recordedTo = q.recordedTo;
  if (q.occurredFrom) out.occurredFrom = q.occurredFrom;
  if (q.occurredTo) out.occurredTo = q.occurredTo;
  return out;
}

function wantsNdjson(req: Request, format: string | undefined): boolean {
  if (format) return format === 'ndjson';
  return req.accepts(['application/json', 'application/x-ndjson']) === 'application/x-ndjson';
}

/** Waits for the response to drain or close; the listener of whichever did not happen is removed. */
async function drainedOrClosed(res: Response): Promise<void> {
  const cancel = new AbortController();
  try {
    await Promise.race([
      once(res, 'drain', { signal: cancel.signal }),
      once(res, 'close', { signal: cancel.signal }),
    ]);
  } finally {
    cancel.abort();
  }
}

/**
 * Writes matching events as NDJSON, one line per event, straight from the store's reader: when the socket's
 * buffer is full it waits for `drain`, so any range streams in constant memory; a client that goes away
 * stops the read.
 */
async function streamNdjson(
  deps: AppDeps,
  q: AuditEventQuery,
  options: { from?: bigint; limit?: number; scenarioCity: (id: string) => Promise<string | undefined> },
  res: Response,
): Promise<void> {
  res.status(200).type('application/x-ndjson').set('Cache-Control', 'no-store');
  res.flushHeaders();
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  let sent = 0;
  const scan = scanEvents(deps.store, q, {
    from: options.from ?? 'start',
    scenarioCity: options.scenarioCity,
  });
  try {
    for await (const item of scan) {
      if (closed) break;
      if (!item.match) continue;
      const line = `${JSON.stringify(toAuditEvent(item.match))}\n`;
      if (!res.write(line)) await drainedOrClosed(res);
      sent++;
      if (options.limit !== undefined && sent >= options.limit) break;
    }
  } catch (err) {
    // Headers are gone; all we can do is cut the stream so the client sees it is incomplete.
    deps.logger.error({ err }, 'audit export failed');
    res.destroy();
    return;
  } finally {
    await scan.return(undefined);
  }
  if (!closed) res.end();
}

/**
 * The audit API (role auditor): `GET /audit/entities/{city}/{id}`, `GET /audit/events` (filters, cursor
 * pages, NDJSON export) and `GET /audit/verify?city=` (hash chain verification).
 */
export function auditRoutes(deps: AppDeps, keys?: Pick<KeyRegistry, 'get'>): Router {
  const router = Router();
  const scenarioCity = scenarioCityFromStore(deps.store);

  /** Who the actors of some events are: for each actor that is an API key, its label and role. */
  async function actorsOf(events: { metadata: Record<string, unknown> }[]) {
    const actors: Record<string, { label: string; role: string; revoked: boolean }> = {};
    if (!keys) return actors;
    for (const actor of new Set(events.map((e) => e.metadata.actor))) {
      if (typeof actor !== 'string') continue;
      const record = await keys.get(actor);
      if (record)
        actors[actor] = { label: record.label, role: record.role, revoked: Boolean(record.revokedAt) };
    }
    return actors;
  }

  router.get('/audit/entities/:city/:id', async (req, res) => {
    const { city, id } = parse(entityParams, req.params, 'Invalid entity');
    const history = await entityHistory(deps.store, city, id);
    if (!history) throw new NotFoundError(`No entity ${id} in ${city}`);
    res.json({ ...history, actors: await actorsOf(history.events) });
  });

  router.get('/audit/events', async (req, res) => {
    const parsed = parse(eventsQuery, req.query, 'Invalid audit query');
    const q = toQuery(parsed);
    const from = parsed.cursor === undefined ? undefined : BigInt(parsed.cursor);
    if (wantsNdjson(req, parsed.format)) {
      await streamNdjson(deps, q, { from, limit: parsed.limit, scenarioCity }, res);
      return;
    }
    const page = await auditPage(deps.store, q, {
      ...(from !== undefined ? { cursor: from } : {}),
      limit: parsed.limit ?? 100,
      scenarioCity,
    });
    res.json({ ...page, actors: await actorsOf(page.events) });
  });

  router.get('/audit/verify', async (req, res) => {
    const { city } = parse(verifyQuery, req.query, 'Invalid verify query');
    res.json(await verifyChains(deps.store, { ...(city ? { city } : {}), scenarioCity }));
  });

  return router;
}

const auditor = {
  '400': problemResponse('invalid parameter (named in errors)'),
  '401': problemResponse('no valid key'),
  '403': problemResponse('not an auditor of this city'),
};
const auditEvent = {
  type: 'object',
  required: ['id', 'type', 'stream', 'revision', 'position', 'recordedAt', 'data', 'metadata'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    type: { type: 'string' },
    stream: { type: 'string' },
    revision: { type: 'integer' },
    position: { type: 'string', description: 'global position, decimal' },
    recordedAt: { type: 'string', format: 'date-time' },
    data: { type: 'object' },
    metadata: {
      type: 'object',
      description: 'actor, source, occurredAt, correlationId, causationId, reason, prevHash, hash',
    },
  },
};
const q = (name: string, description: string) => ({
  name,
  in: 'query',
  required: false,
  description,
  schema: { type: 'string' },
});

registerPaths({
  '/api/v1/audit/entities/{city}/{id}': {
    get: {
      summary: 'Every event of an entity with its metadata and the JSON Patch (RFC 6902) of its effect',
      tags: ['audit'],
      security: [{ apiKey: [] }],
      parameters: [
        { name: 'city', in: 'path', required: true, schema: { type: 'string' } },
        { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
      ],
      responses: {
        '200': jsonResponse('the history', {
          type: 'object',
          properties: {
            city: { type: 'string' },
            id: { type: 'string' },
            state: { type: ['object', 'null'] },
            actors: {
              type: 'object',
              description: 'for each actor that is an API key: its label, role and whether it is revoked',
            },
            events: {
              type: 'array',
              items: {
                allOf: [
                  auditEvent,
                  {
                    type: 'object',
                    properties: {
                      kind: { type: 'string' },
                      patch: { type: 'array', items: { type: 'object' } },
                    },
                  },
                ],
              },
            },
          },
        }),
        '404': problemResponse('no such entity'),
        ...auditor,
      },
    },
  },
  '/api/v1/audit/events': {
    get: {
      summary: 'Search the event log; cursor pages, or an NDJSON export of any range (format=ndjson)',
      tags: ['audit'],
      security: [{ apiKey: [] }],
      parameters: [
        q('city', 'events of this city (required unless the key covers every city)'),
        q('actor', 'key id that wrote the event'),
        q('source', 'metadata.source'),
        q('type', 'event type(s), comma-separated'),
        q('correlationId', 'metadata.correlationId'),
        q('recordedFrom', 'recordedAt >= (ISO 8601)'),
        q('recordedTo', 'recordedAt <= (ISO 8601)'),
        q('occurredFrom', 'metadata.occurredAt >= (ISO 8601)'),
        q('occurredTo', 'metadata.occurredAt <= (ISO 8601)'),
        q('cursor', 'nextCursor of the previous page'),
        {
          name: 'limit',
          in: 'query',
          required: false,
          schema: { type: 'integer', minimum: 1, maximum: 1000 },
        },
        { name: 'format', in: 'query', required: false, schema: { enum: ['json', 'ndjson'] } },
      ],
      responses: {
        '200': {
          description: 'a page, or one event per line for NDJSON',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: {
                  events: { type: 'array', items: auditEvent },
                  nextCursor: { type: ['string', 'null'] },
                  actors: {
                    type: 'object',
                    description: 'label, role and revoked flag of each key among the actors',
                  },
                },
              },
            },
            'application/x-ndjson': { schema: auditEvent },
          },
        },
        ...auditor,
      },
    },
  },
  '/api/v1/audit/verify': {
    get: {
      summary: 'Recompute the hash chains of every stream of a city; the first broken link per stream',
      tags: ['audit'],
      security: [{ apiKey: [] }],
      parameters: [q('city', 'the city (required unless the key covers every city)')],
      responses: {
        '200': jsonResponse('the report', {
          type: 'object',
          properties: {
            city: { type: ['string', 'null'] },
            ok: { type: 'boolean' },
            streamsChecked: { type: 'integer' },
            eventsChecked: { type: 'integer' },
            broken: { type: 'array', items: { type: 'object' } },
            digest: { type: 'string' },
            headPosition: { type: ['string', 'null'] },
          },
        }),
        ...auditor,
      },
    },
  },
});
