import { Router } from 'express';
import { z } from 'zod';
import { cityScopeSchema } from '../../access/apiKeyEvents.js';
import type { KeyRegistry } from '../../access/keyRegistry.js';
import { ROLES } from '../../access/roles.js';
import { principalOf } from '../accessControl.js';
import { jsonResponse, problemResponse, registerPaths, registerSchemas, schemaRef } from '../openapi.js';
import { validationErrorFromZod } from '../problem.js';

const createKeyBody = z.strictObject({
  role: z.enum(ROLES),
  /** `*` for every city, or a list of city ids. */
  cities: cityScopeSchema,
  label: z.string().max(200).optional(),
  /** Why, for the audit trail of the key itself. */
  reason: z.string().min(1).max(2_000).optional(),
});

const reasonQuery = z.strictObject({ reason: z.string().min(1).max(2_000).optional() });

/**
 * `POST /keys` (create; the key is in the response and nowhere else, ever), `GET /keys` (list, without
 * secrets or hashes), `DELETE /keys/{keyId}` (revoke). Admins with an all-cities scope only (access policy).
 */
export function keyRoutes(keys: KeyRegistry): Router {
  const router = Router();

  router.post('/keys', async (req, res) => {
    const parsed = createKeyBody.safeParse(req.body);
    if (!parsed.success) throw validationErrorFromZod(parsed.error, { input: req.body, what: 'Invalid key' });
    const principal = principalOf(res);
    const { reason, ...input } = parsed.data;
    const { key, record } = await keys.create(input, {
      actor: principal.id,
      source: 'http',
      correlationId: res.locals.correlationId as string | undefined,
      ...(reason ? { reason } : {}),
    });
    res
      .status(201)
      .set('Cache-Control', 'no-store')
      .json({ key, ...record });
  });

  router.get('/keys', async (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ keys: await keys.list() });
  });

  router.delete('/keys/:keyId', async (req, res) => {
    const parsed = reasonQuery.safeParse(req.query);
    if (!parsed.success)
      throw validationErrorFromZod(parsed.error, { input: req.query, what: 'Invalid query' });
    const principal = principalOf(res);
    const record = await keys.revoke(req.params.keyId, {
      actor: principal.id,
      source: 'http',
      correlationId: res.locals.correlationId as string | undefined,
      ...(parsed.data.reason ? { reason: parsed.data.reason } : {}),
    });
    res.json(record);
  });

  return router;
}

registerSchemas({
  CreateApiKey: createKeyBody,
  ApiKey: {
    type: 'object',
    required: ['keyId', 'role', 'cities', 'label', 'createdAt', 'createdBy'],
    properties: {
      keyId: { type: 'string' },
      role: { enum: [...ROLES] },
      cities: { oneOf: [{ const: '*' }, { type: 'array', items: { type: 'string' } }] },
      label: { type: 'string' },
      createdAt: { type: 'string', format: 'date-time' },
      createdBy: { type: 'string', description: 'key id of the admin who created it' },
      revokedAt: { type: 'string', format: 'date-time' },
      revokedBy: { type: 'string' },
    },
  },
});

const adminOnly = {
  '401': problemResponse('no valid key'),
  '403': problemResponse('not an all-cities admin'),
};
registerPaths({
  '/api/v1/keys': {
    get: {
      summary: 'List API keys (never their secrets)',
      tags: ['access'],
      security: [{ apiKey: [] }],
      responses: {
        '200': jsonResponse('the keys', {
          type: 'object',
          properties: { keys: { type: 'array', items: schemaRef('ApiKey') } },
        }),
        ...adminOnly,
      },
    },
    post: {
      summary: 'Create an API key; the response is the only time the key is shown',
      tags: ['access'],
      security: [{ apiKey: [] }],
      requestBody: { required: true, content: { 'application/json': { schema: schemaRef('CreateApiKey') } } },
      responses: {
        '201': jsonResponse('the key (store it now) and its record', {
          allOf: [schemaRef('ApiKey'), { type: 'object', properties: { key: { type: 'string' } } }],
        }),
        '400': problemResponse('invalid role, cities or label'),
        ...adminOnly,
      },
    },
  },
  '/api/v1/keys/{keyId}': {
    delete: {
      summary: 'Revoke an API key (idempotent)',
      tags: ['access'],
      security: [{ apiKey: [] }],
      parameters: [
        { name: 'keyId', in: 'path', required: true, schema: { type: 'string' } },
        { name: 'reason', in: 'query', required: false, schema: { type: 'string' } },
      ],
      responses: {
        '200': jsonResponse('the revoked key', schemaRef('ApiKey')),
        '404': problemResponse('no such key'),
        ...adminOnly,
      },
    },
  },
});
