import { Router } from 'express';
import { UnavailableError } from '../../core/errors.js';
import type { AppDeps, ReadinessCheck } from '../deps.js';
import { jsonResponse, problemResponse, registerPaths } from '../openapi.js';

interface CheckOutcome {
  name: string;
  ready: boolean;
  detail?: unknown;
}

async function runCheck(check: ReadinessCheck): Promise<CheckOutcome> {
  try {
    const outcome = await check.check();
    if (typeof outcome === 'boolean') return { name: check.name, ready: outcome };
    return { name: check.name, ...outcome };
  } catch (err) {
    return { name: check.name, ready: false, detail: err instanceof Error ? err.message : String(err) };
  }
}

/** `GET /health` (the process answers) and `GET /ready` (the store answers and every readiness check passes). */
export function healthRoutes(deps: AppDeps): Router {
  const router = Router();
  const started = Date.now();

  router.get('/health', (_req, res) => {
    res.json({ status: 'ok', uptimeSeconds: Math.round((Date.now() - started) / 1000) });
  });

  router.get('/ready', async (_req, res) => {
    const storeCheck: ReadinessCheck = {
      name: 'event-store',
      check: async () => {
        await deps.store.ping();
        return { ready: true, detail: deps.store.name };
      },
    };
    const checks = await Promise.all([storeCheck, ...(deps.readiness ?? [])].map(runCheck));
    const failing = checks.filter((c) => !c.ready);
    if (failing.length > 0) {
      const err = new UnavailableError(`Not ready: ${failing.map((c) => c.name).join(', ')}`);
      Object.assign(err.extra, { checks });
      throw err;
    }
    res.json({ status: 'ready', checks });
  });

  return router;
}

registerPaths({
  '/health': {
    get: {
      summary: 'Liveness: the process answers',
      tags: ['operations'],
      security: [],
      responses: { '200': jsonResponse('alive', { type: 'object' }) },
    },
  },
  '/ready': {
    get: {
      summary:
        'Readiness: the event store answers and every registered check (e.g. the twin caught up) passes',
      tags: ['operations'],
      security: [],
      responses: {
        '200': jsonResponse('ready', { type: 'object' }),
        '503': problemResponse('not ready; `checks` lists each check'),
      },
    },
  },
});
