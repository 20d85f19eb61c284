import express from 'express';
import { correlationId } from './correlation.js';
import type { AppDeps } from './deps.js';
import { notFoundHandler, problemHandler } from './problem.js';
import { requestLog } from './requestLog.js';
import { healthRoutes } from './routes/health.js';
import { openApiRoutes } from './routes/openapi.js';

/**
 * Builds the HTTP app (no listen, so tests drive it with supertest). Order matters: ids first (so every
 * response, errors included, carries them), then logging, body parsing, security, the routes, and last
 * the 404 and the one problem+json error handler.
 * Each area's routes live in src/http/routes/<area>.ts as `(deps) => Router` and are mounted below.
 */
export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');

  // 1. ids and logging
  app.use(correlationId());
  app.use(requestLog(deps.logger));

  // 2. body parsing: JSON only, bounded (413 problem beyond BODY_LIMIT)
  app.use(express.json({ limit: deps.config.BODY_LIMIT, type: ['application/json', 'application/*+json'] }));

  // 3. security (headers, CORS, rate limits, authentication) mounts here

  // 4. routes
  app.use(healthRoutes(deps));
  const api = express.Router();
  api.use(openApiRoutes(deps));
  app.use('/api/v1', api);

  // 5. nothing matched, and the one place errors become problem+json
  app.use(notFoundHandler());
  app.use(problemHandler(deps.logger));
  return app;
}
