import { Router } from 'express';
import { z } from 'zod';
import { ConflictError, NotFoundError, UnavailableError, ValidationError } from '../../core/errors.js';
import { validationErrorFromZod } from '../../core/zodIssues.js';
import { GEOFENCE_ID_PATTERN, geofenceDefinedSchema } from '../../domain/city/events.js';
import { assertCityId } from '../../domain/streams.js';
import { geofenceHistory } from '../../realtime/geofenceHistory.js';
import type { GeofenceRecord, GeofenceRegistry } from '../../realtime/geofenceRegistry.js';
import { createWriter } from '../../write/writer.js';
import { acceptableId } from '../correlation.js';
import type { AppDeps } from '../deps.js';
import { jsonResponse, problemResponse, registerPaths, registerSchemas, schemaRef } from '../openapi.js';

type GeofenceDeps = AppDeps & { geofences?: GeofenceRegistry };

/** The body of `POST /cities/{city}/geofences`: a GeofenceDefined whose id may be left to the server. */
const defineBodySchema = z.strictObject({
  geofenceId: z
    .string()
    .regex(GEOFENCE_ID_PATTERN, 'must be a URL-safe id (letters, digits, _ . : -)')
    .optional(),
  name: z.string().min(1).max(200),
  area: z.unknown(),
  kinds: z.array(z.string()).min(1),
  reason: z.string().max(2_000).optional(),
});

const historyQuerySchema = z.strictObject({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(100_000).default(10_000),
});

const actorOf = (locals: Record<string, unknown>) => {
  const id = (locals.principal as { id?: unknown } | undefined)?.id;
  return typeof id === 'string' && id !== '' ? id : 'anonymous';
};

const view = (f: GeofenceRecord) => ({
  geofenceId: f.geofenceId,
  city: f.city,
  name: f.name,
  area: f.area,
  kinds: f.kinds,
  definedAt: f.definedAt,
  definedBy: f.definedBy,
  position: f.position,
});

/**
 * Geofences of a city: defined and removed as events of the city's stream (so they are audited and survive
 * restarts), listed from the registry that follows the store, and replayed over history.
 */
export function geofenceRoutes(deps: GeofenceDeps): Router {
  const router = Router();
  const writer = deps.writer ?? createWriter({ store: deps.store, clock: deps.clock });
  const registry = () => {
    if (!deps.geofences) throw new UnavailableError('Geofences are not served by this node');
    return deps.geofences;
  };
  const fenceOf = (city: string, id: string) => {
    const fence = registry().get(city, id);
    if (!fence) throw new NotFoundError(`No geofence ${JSON.stringify(id)} in ${city}`);
    return fence;
  };
  const context = (req: import('express').Request, res: import('express').Response, reason?: string) => ({
    actor: actorOf(res.locals),
    source: req.get('x-source') ?? 'http-geofences',
    correlationId: res.locals.correlationId as string,
    causationId: acceptableId(req.get('x-causation-id')) ?? null,
    ...(reason !== undefined ? { reason } : {}),
  });

  router.get('/cities/:city/geofences', (req, res) => {
    const city = assertCityId(req.params.city);
    res.json({ city, geofences: registry().fences(city).map(view) });
  });

  router.get('/cities/:city/geofences/:id', (req, res) => {
    const city = assertCityId(req.params.city);
    res.json(view(fenceOf(city, req.params.id)));
  });

  router.post('/cities/:city/geofences', async (req, res) => {
    const city = assertCityId(req.params.city);
    const body = defineBodySchema.safeParse(req.body ?? {});
    if (!body.success)
      throw validationErrorFromZod(body.error, { input: req.body, what: 'Invalid geofence' });
    const { reason, ...fields } = body.data;
    const geofenceId = fields.geofenceId ?? `gf-${crypto.randomUUID().slice(0, 8)}`;
    const data = geofenceDefinedSchema.safeParse({ ...fields, geofenceId });
    if (!data.success)
      throw validationErrorFromZod(data.error, { input: req.body, what: 'Invalid geofence' });
    if (registry().get(city, geofenceId)) {
      throw new ConflictError(`Geofence ${geofenceId} already exists in ${city}`, [
        { field: 'geofenceId', value: geofenceId, message: 'is already defined; DELETE it first' },
      ]);
    }
    const outcome = await writer.appendBatch(
      city,
      [{ type: 'GeofenceDefined', data: data.data }],
      context(req, res, reason),
    );
    const position = BigInt(outcome.results[0]!.position);
    await registry().waitForPosition(position);
    res
      .status(201)
      .location(`/api/v1/cities/${city}/geofences/${encodeURIComponent(geofenceId)}`)
      .json(view(fenceOf(city, geofenceId)));
  });

  router.delete('/cities/:city/geofences/:id', async (req, res) => {
    const city = assertCityId(req.params.city);
    fenceOf(city, req.params.id);
    const outcome = await writer.appendBatch(
      city,
      [{ type: 'GeofenceRemoved', data: { geofenceId: req.params.id } }],
      context(req, res),
    );
    await registry().waitForPosition(BigInt(outcome.results[0]!.position));
    res.status(204).end();
  });

  router.get('/cities/:city/geofences/:id/events', async (req, res) => {
    const city = assertCityId(req.params.city);
    const query = historyQuerySchema.safeParse(req.query);
    if (!query.success)
      throw validationErrorFromZod(query.error, { input: req.query, what: 'Invalid query' });
    const { from, to, limit } = query.data;
    if (from && to && Date.parse(from) >= Date.parse(to)) {
      throw new ValidationError('`from` must be before `to`', [
        { field: 'to', value: to, message: `must be after from (${from})` },
      ]);
    }
    const fence = fenceOf(city, req.params.id);
    const result = await geofenceHistory(deps.store, city, fence, {
      ...(from ? { from } : {}),
      ...(to ? { to } : {}),
      limit,
    });
    res.json({
      city,
      geofenceId: fence.geofenceId,
      from: from ?? null,
      to: to ?? null,
      truncated: result.truncated,
      transitions: result.transitions,
    });
  });

  return router;
}

// ---- OpenAPI --------------------------------------------------------------------------------------------

registerSchemas({
  GeofenceDefinition: {
    type: 'object',
    required: ['name', 'area', 'kinds'],
    additionalProperties: false,
    properties: {
      geofenceId: { type: 'string', pattern: GEOFENCE_ID_PATTERN.source },
      name: { type: 'string', maxLength: 200 },
      area: { description: 'GeoJSON Polygon or MultiPolygon (WGS84)' },
      kinds: { type: 'array', items: { type: 'string' }, description: 'mobility kinds watched' },
      reason: { type: 'string', maxLength: 2000 },
    },
  },
  Geofence: {
    type: 'object',
    properties: {
      geofenceId: { type: 'string' },
      city: { type: 'string' },
      name: { type: 'string' },
      area: { type: 'object' },
      kinds: { type: 'array', items: { type: 'string' } },
      definedAt: { type: 'string', format: 'date-time' },
      definedBy: { type: 'string' },
      position: { type: 'string' },
    },
  },
});
const cityParam = { name: 'city', in: 'path', required: true, schema: { type: 'string' } };
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
registerPaths({
  '/api/v1/cities/{city}/geofences': {
    get: {
      summary: "A city's geofences",
      parameters: [cityParam],
      responses: { '200': jsonResponse('the fences', { type: 'object' }) },
    },
    post: {
      summary: 'Define a geofence (appends GeofenceDefined to the city stream)',
      parameters: [cityParam],
      requestBody: { content: { 'application/json': { schema: schemaRef('GeofenceDefinition') } } },
      responses: {
        '201': jsonResponse('defined', schemaRef('Geofence')),
        '400': problemResponse('invalid definition'),
        '409': problemResponse('the id is taken'),
      },
    },
  },
  '/api/v1/cities/{city}/geofences/{id}': {
    get: {
      summary: 'One geofence',
      parameters: [cityParam, idParam],
      responses: {
        '200': jsonResponse('the fence', schemaRef('Geofence')),
        '404': problemResponse('no such fence'),
      },
    },
    delete: {
      summary: 'Remove a geofence (appends GeofenceRemoved)',
      parameters: [cityParam, idParam],
      responses: { '204': { description: 'removed' }, '404': problemResponse('no such fence') },
    },
  },
  '/api/v1/cities/{city}/geofences/{id}/events': {
    get: {
      summary: "The fence's enter/exit transitions over history, by when they happened",
      parameters: [
        cityParam,
        idParam,
        { name: 'from', in: 'query', schema: { type: 'string', format: 'date-time' } },
        { name: 'to', in: 'query', schema: { type: 'string', format: 'date-time' } },
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100000 } },
      ],
      responses: {
        '200': jsonResponse('the transitions', { type: 'object' }),
        '404': problemResponse('no such fence'),
      },
    },
  },
});
