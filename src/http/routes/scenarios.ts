import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import { scopeIncludes } from '../../access/roles.js';
import { NotFoundError, UnavailableError, ValidationError } from '../../core/errors.js';
import { validationErrorFromZod } from '../../core/zodIssues.js';
import { parseStream } from '../../domain/streams.js';
import type { RecordedEvent } from '../../eventStore/port.js';
import { isLifecycleType } from '../../scenarios/events.js';
import { operationSchema } from '../../scenarios/operations.js';
import { createScenarioSchema, type ScenarioActor, type ScenarioService } from '../../scenarios/service.js';
import { isTimeTravel, parseAsOf } from '../../timeTravel/asOf.js';
import { LAYERS, type LayerName } from '../../twin/changes.js';
import type { AppDeps } from '../deps.js';
import { jsonResponse, problemResponse, registerPaths, registerSchemas, schemaRef } from '../openapi.js';
import { parseLayerQuery } from './layerQuery.js';

/** The actor and provenance of a request: the authenticated principal, never anything from the body. */
function actorOf(req: Request, res: Response): ScenarioActor {
  const principal = res.locals.principal as { id?: unknown } | undefined;
  const source = req.get('x-source') ?? 'http-scenarios';
  const body = (req.body ?? {}) as { reason?: unknown };
  return {
    actor: typeof principal?.id === 'string' && principal.id.length > 0 ? principal.id : 'anonymous',
    source: source.slice(0, 200),
    correlationId: String(res.locals.correlationId ?? 'none'),
    ...(typeof body.reason === 'string' ? { reason: body.reason.slice(0, 2_000) } : {}),
  };
}

function layerOf(value: string | undefined): LayerName {
  if (!(LAYERS as readonly string[]).includes(value ?? '')) {
    throw new NotFoundError(`No layer ${JSON.stringify(value)} (layers: ${LAYERS.join(', ')})`);
  }
  return value as LayerName;
}

const againstSchema = z.enum(['fork', 'now']).optional();
function againstOf(req: Request): 'fork' | 'now' | undefined {
  const parsed = againstSchema.safeParse(req.query.against);
  if (!parsed.success) {
    throw new ValidationError(`Invalid against: ${JSON.stringify(req.query.against)}`, [
      { field: 'against', value: req.query.against, message: 'must be fork or now' },
    ]);
  }
  return parsed.data;
}

/** An overlay event as the API shows it. */
function eventView(e: RecordedEvent) {
  const meta = e.metadata as Record<string, unknown>;
  const target = typeof meta.target === 'string' ? parseStream(meta.target) : undefined;
  return {
    id: e.id,
    type: e.type,
    revision: e.revision,
    position: e.position.toString(),
    recordedAt: e.recordedAt,
    target: meta.target ?? null,
    entityId: target && 'entityId' in target ? target.entityId : null,
    data: e.data,
    metadata: meta,
  };
}

const listQuerySchema = z.strictObject({
  city: z.string().optional(),
  status: z.enum(['active', 'archived']).optional(),
});

/**
 * What-if scenarios: `POST /scenarios`, `GET /scenarios`, `GET /scenarios/{id}`, `POST /scenarios/{id}/events`,
 * `POST /scenarios/{id}/operations`, `POST /scenarios/{id}/archive` (and `DELETE /scenarios/{id}`),
 * `GET /scenarios/{id}/events`, `GET /scenarios/{id}/layers/{layer}`, `GET /scenarios/{id}/kpis`,
 * `GET /scenarios/{id}/compare`, `GET /scenarios/{id}/diff/{layer}`.
 */
export function scenarioRoutes(deps: AppDeps & { scenarios?: ScenarioService }): Router {
  const router = Router();
  const service = (): ScenarioService => {
    if (!deps.scenarios) throw new UnavailableError('Scenarios are not enabled on this server');
    return deps.scenarios;
  };

  router.post('/scenarios', async (req, res) => {
    const info = await service().create(req.body, actorOf(req, res));
    res.status(201).location(`/api/v1/scenarios/${info.id}`).json(info);
  });

  router.get('/scenarios', async (req, res) => {
    const parsed = listQuerySchema.safeParse(req.query);
    if (!parsed.success)
      throw validationErrorFromZod(parsed.error, { input: req.query, what: 'Invalid query' });
    const principal = res.locals.principal as { cities?: '*' | readonly string[] } | undefined;
    const scope = principal?.cities ?? '*';
    const list = (await service().list(parsed.data)).filter((s) => scopeIncludes(scope, s.city));
    res.json({ scenarios: list });
  });

  router.get('/scenarios/:id', async (req, res) => {
    const info = await service().get(req.params.id);
    const events = await service().events(info.id);
    res.json({ ...info, overlayEvents: events.filter((e) => !isLifecycleType(e.type)).length });
  });

  router.post('/scenarios/:id/archive', async (req, res) => {
    await service().archive(req.params.id, actorOf(req, res));
    res.json(await service().get(req.params.id));
  });

  router.delete('/scenarios/:id', async (req, res) => {
    await service().archive(req.params.id, actorOf(req, res));
    res.json(await service().get(req.params.id));
  });

  router.get('/scenarios/:id/events', async (req, res) => {
    const events = await service().events(req.params.id);
    res.json({ events: events.filter((e) => !isLifecycleType(e.type)).map(eventView) });
  });

  router.post('/scenarios/:id/events', async (req, res) => {
    const body = req.body as { events?: unknown } | undefined;
    if (!body || typeof body !== 'object' || !Array.isArray(body.events) || body.events.length === 0) {
      throw new ValidationError('The body must be {"events": [...]} with at least one event', [
        { field: 'events', value: body?.events, message: 'must be a non-empty list of events' },
      ]);
    }
    if (body.events.length > deps.config.MAX_BATCH_SIZE) {
      throw new ValidationError(`A batch holds at most ${deps.config.MAX_BATCH_SIZE} events`, [
        {
          field: 'events',
          value: body.events.length,
          message: `at most ${deps.config.MAX_BATCH_SIZE} events`,
        },
      ]);
    }
    const result = await service().append(req.params.id, body.events, actorOf(req, res));
    res.status(result.appended > 0 ? 201 : 200).json(result);
  });

  router.post('/scenarios/:id/operations', async (req, res) => {
    const body = req.body as { operations?: unknown } | undefined;
    const ops = Array.isArray(body?.operations) ? body.operations : [body];
    if (ops.length === 0 || ops.length > 20) {
      throw new ValidationError('Give one operation, or {"operations": [...]} with 1 to 20 of them', [
        { field: 'operations', value: ops.length, message: 'must hold 1 to 20 operations' },
      ]);
    }
    const who = actorOf(req, res);
    const results = [];
    for (const op of ops) results.push(await service().applyOperation(req.params.id, op, who));
    res.status(201).json({ operations: results });
  });

  const layerHandler = (withBody: boolean) => async (req: Request, res: Response) => {
    const layer = layerOf(req.params.layer as string);
    const query = parseLayerQuery(
      layer,
      req.query as Record<string, unknown>,
      withBody ? (req.body ?? null) : undefined,
    );
    const asOf = parseAsOf(req.query as Record<string, unknown>);
    const { twin, position, at } = await service().twinAsOf(req.params.id as string, asOf);
    const result = twin.query(layer, query);
    res.type('application/geo+json').json({
      type: 'FeatureCollection',
      ...(isTimeTravel(asOf) ? { asOf: { position: position.toString(), ...(at ? { at } : {}) } } : {}),
      features: result.features,
      numberMatched: result.matched,
      numberReturned: result.features.length,
      next: result.next ?? null,
    });
  };
  router.get('/scenarios/:id/layers/:layer', layerHandler(false));
  router.post('/scenarios/:id/layers/:layer', layerHandler(true));

  router.get('/scenarios/:id/kpis', async (req, res) => {
    const info = await service().get(req.params.id);
    const twin = await service().twin(info.id);
    res.json({
      scenario: info.id,
      city: info.city,
      position: twin.position?.toString() ?? null,
      kpis: twin.kpis(),
    });
  });

  router.get('/scenarios/:id/compare', async (req, res) => {
    res.json(await service().compare(req.params.id, againstOf(req)));
  });

  router.get('/scenarios/:id/diff/:layer', async (req, res) => {
    const layer = layerOf(req.params.layer);
    const diff = await service().diff(req.params.id, layer, againstOf(req));
    res.json({
      layer,
      against: diff.against,
      counts: { added: diff.added.length, changed: diff.changed.length, removed: diff.removed.length },
      added: { type: 'FeatureCollection', features: diff.added },
      changed: diff.changed.map((c) => ({
        id: c.id,
        properties: c.properties,
        scenario: c.scenario,
        real: c.real,
      })),
      removed: { type: 'FeatureCollection', features: diff.removed },
    });
  });

  return router;
}

registerSchemas({ ScenarioCreate: createScenarioSchema, ScenarioOperation: operationSchema });
const body = (name: string) => ({
  required: true,
  content: { 'application/json': { schema: schemaRef(name) } },
});
const obj = { type: 'object' } as const;
const tags = ['scenarios'];
const id = [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }];
const layerParam = {
  name: 'layer',
  in: 'path',
  required: true,
  schema: { type: 'string', enum: [...LAYERS] },
};
const against = {
  name: 'against',
  in: 'query',
  schema: { type: 'string', enum: ['fork', 'now'] },
  description: 'compare with the real city at the fork (default for frozen) or now (default for tracking)',
};
registerPaths({
  '/api/v1/scenarios': {
    post: {
      summary:
        'Fork a what-if scenario from a position or a time: {city, name, description, fork, mode, excludeEvents}',
      tags,
      requestBody: body('ScenarioCreate'),
      responses: { '201': jsonResponse('the scenario', obj), '400': problemResponse('invalid request') },
    },
    get: {
      summary: 'List scenarios (?city=, ?status=)',
      tags,
      responses: { '200': jsonResponse('scenarios', obj) },
    },
  },
  '/api/v1/scenarios/{id}': {
    get: {
      summary: 'A scenario',
      tags,
      parameters: id,
      responses: { '200': jsonResponse('the scenario', obj) },
    },
    delete: {
      summary: 'Archive a scenario',
      tags,
      parameters: id,
      responses: { '200': jsonResponse('archived', obj) },
    },
  },
  '/api/v1/scenarios/{id}/archive': {
    post: {
      summary: 'Archive a scenario',
      tags,
      parameters: id,
      responses: { '200': jsonResponse('archived', obj) },
    },
  },
  '/api/v1/scenarios/{id}/events': {
    get: {
      summary: "The scenario's overlay events",
      tags,
      parameters: id,
      responses: { '200': jsonResponse('events', obj) },
    },
    post: {
      summary: 'Append domain events to the scenario (same format and rules as city ingest)',
      tags,
      parameters: id,
      responses: { '201': jsonResponse('results', obj), '422': problemResponse('a domain rule was broken') },
    },
  },
  '/api/v1/scenarios/{id}/operations': {
    post: {
      summary:
        'Apply what-if operations (retrofit, add-chargers, add-pv, set-emission-factors, add/remove-network-elements)',
      tags,
      parameters: id,
      requestBody: body('ScenarioOperation'),
      responses: { '201': jsonResponse('the operations with their event counts', obj) },
    },
  },
  '/api/v1/scenarios/{id}/layers/{layer}': {
    get: {
      summary:
        "A scenario's layer as GeoJSON (bbox, near/radius, kind, attribute filters, limit, cursor; position or at: the scenario as it was then)",
      tags,
      parameters: [
        ...id,
        layerParam,
        { name: 'position', in: 'query', schema: { type: 'string' }, description: 'as of a global position' },
        {
          name: 'at',
          in: 'query',
          schema: { type: 'string', format: 'date-time' },
          description: 'as recorded at',
        },
      ],
      responses: { '200': jsonResponse('FeatureCollection', obj) },
    },
    post: {
      summary: "A scenario's layer within a polygon (the body: a GeoJSON Polygon, MultiPolygon or Feature)",
      tags,
      parameters: [...id, layerParam],
      responses: { '200': jsonResponse('FeatureCollection', obj) },
    },
  },
  '/api/v1/scenarios/{id}/kpis': {
    get: {
      summary: "A scenario's KPIs",
      tags,
      parameters: id,
      responses: { '200': jsonResponse('KPIs', obj) },
    },
  },
  '/api/v1/scenarios/{id}/compare': {
    get: {
      summary: 'KPIs of the scenario beside the real city, city-wide and per district, with deltas',
      tags,
      parameters: [...id, against],
      responses: { '200': jsonResponse('comparison', obj) },
    },
  },
  '/api/v1/scenarios/{id}/diff/{layer}': {
    get: {
      summary: 'Features added, changed and removed by the scenario',
      tags,
      parameters: [...id, layerParam, against],
      responses: { '200': jsonResponse('layer diff', obj) },
    },
  },
});
