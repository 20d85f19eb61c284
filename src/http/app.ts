import express from 'express';
import { createKeyRegistry } from '../access/keyRegistry.js';
import { accessControlFor } from './accessControl.js';
import { correlationId } from './correlation.js';
import type { AppDeps } from './deps.js';
import { notFoundHandler, problemHandler } from './problem.js';
import { requestLog } from './requestLog.js';
import { auditRoutes } from './routes/audit.js';
import { entityHistoryRoutes } from './routes/entityHistory.js';
import { geofenceRoutes } from './routes/geofences.js';
import { healthRoutes } from './routes/health.js';
import { ingestBodyText, ingestRoutes } from './routes/ingest.js';
import { keyRoutes } from './routes/keys.js';
import { openApiRoutes } from './routes/openapi.js';
import { scenarioRoutes } from './routes/scenarios.js';
import { twinRoutes } from './routes/twin.js';
import { securityHeaders } from './security.js';

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

  // security before the body is read: headers, CORS, then the one access middleware (authentication, rate
  // limit per key, authorisation by src/http/accessPolicy.ts), so a request without a valid key costs nothing
  const keys = deps.keys ?? createKeyRegistry(deps.store, { clock: deps.clock });
  app.use(securityHeaders({ corsOrigins: deps.config.CORS_ORIGINS }));
  app.use(accessControlFor(deps, keys));

  // 2. body parsing: JSON only, bounded (413 problem beyond BODY_LIMIT); ingest bodies stay text for the
  // write path's parse workers
  app.use('/api/v1/cities/:city/events', ingestBodyText(deps.config.BODY_LIMIT));
  app.use(express.json({ limit: deps.config.BODY_LIMIT, type: ['application/json', 'application/*+json'] }));

  // 4. routes
  app.use(healthRoutes(deps));
  const api = express.Router();
  api.use(openApiRoutes(deps));
  api.use(ingestRoutes(deps));
  api.use(keyRoutes(keys));
  api.use(auditRoutes(deps, keys));
  api.use(scenarioRoutes(deps));
  api.use(entityHistoryRoutes(deps));
  api.use(twinRoutes(deps));
  api.use(geofenceRoutes(deps));
  app.use('/api/v1', api);

  // 5. nothing matched, and the one place errors become problem+json
  app.use(notFoundHandler());
  app.use(problemHandler(deps.logger));
  return app;
}
