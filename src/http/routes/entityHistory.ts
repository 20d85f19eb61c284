import { Router } from 'express';
import { ValidationError } from '../../core/errors.js';
import { assertCityId } from '../../domain/streams.js';
import { entityHistory } from '../../timeTravel/entityHistory.js';
import type { AppDeps } from '../deps.js';
import { jsonResponse, problemResponse, registerPaths } from '../openapi.js';

/**
 * `GET /cities/{city}/entities/{id}/history`: the entity's states over time, each event with the feature it
 * resulted in. `from`/`to` (global positions, inclusive) narrow the range.
 */
export function entityHistoryRoutes(deps: AppDeps): Router {
  const router = Router();
  router.get('/cities/:city/entities/:id/history', async (req, res) => {
    const city = assertCityId(req.params.city);
    const bound = (name: 'from' | 'to') => {
      const v = req.query[name];
      if (v === undefined || v === '') return undefined;
      if (typeof v !== 'string' || !/^\d{1,19}$/.test(v)) {
        throw new ValidationError(`Invalid ${name}: ${JSON.stringify(v)}`, [
          { field: name, value: v, message: 'must be a global position (a non-negative integer)' },
        ]);
      }
      return BigInt(v);
    };
    const from = bound('from');
    const to = bound('to');
    const history = await entityHistory(deps.store, city, req.params.id);
    const steps = history.steps.filter(
      (s) =>
        (from === undefined || BigInt(s.position) >= from) && (to === undefined || BigInt(s.position) <= to),
    );
    res.json({ ...history, steps });
  });
  return router;
}

registerPaths({
  '/api/v1/cities/{city}/entities/{id}/history': {
    get: {
      summary: "An entity's states over time: each of its events with the feature it resulted in",
      tags: ['time travel'],
      parameters: [
        { name: 'city', in: 'path', required: true, schema: { type: 'string' } },
        { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
        { name: 'from', in: 'query', schema: { type: 'string' }, description: 'first global position' },
        { name: 'to', in: 'query', schema: { type: 'string' }, description: 'last global position' },
      ],
      responses: {
        '200': jsonResponse('history', { type: 'object' }),
        '404': problemResponse('no such entity'),
      },
    },
  },
});
