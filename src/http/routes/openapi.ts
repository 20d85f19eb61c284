import { Router } from 'express';
import type { AppDeps } from '../deps.js';
import { buildOpenApiDocument, registerPaths } from '../openapi.js';

/** `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of every registered route. */
export function openApiRoutes(_deps: AppDeps): Router {
  const router = Router();
  router.get('/openapi.json', (_req, res) => {
    res.json(buildOpenApiDocument());
  });
  return router;
}

registerPaths({
  '/api/v1/openapi.json': {
    get: {
      summary: 'This OpenAPI 3.1 document',
      tags: ['operations'],
      security: [],
      responses: { '200': { description: 'the document', content: { 'application/json': {} } } },
    },
  },
});
