import type { Response } from 'express';
import { Router } from 'express';
import { KPI_DEFINITIONS } from '../../../projections/kpis.js';
import { type Principal, scopeIncludes } from '../../access/roles.js';
import { NotFoundError, UnavailableError } from '../../core/errors.js';
import { assertCityId } from '../../domain/streams.js';
import { resolveTwin } from '../../timeTravel/resolveTwin.js';
import type { TimeTravel } from '../../timeTravel/timeTravel.js';
import { LAYERS, type LayerName, type TwinFeature } from '../../twin/changes.js';
import type { CityTwin } from '../../twin/cityTwin.js';
import type { TwinRegistry } from '../../twin/registry.js';
import type { AppDeps } from '../deps.js';
import { jsonResponse, problemResponse, registerPaths } from '../openapi.js';
import { parseLayerQuery } from './layerQuery.js';

type TwinDeps = AppDeps & { twins?: TwinRegistry; timeTravel?: TimeTravel<CityTwin> };

function layerOf(value: string | undefined): LayerName {
  if (!(LAYERS as readonly string[]).includes(value ?? '')) {
    throw new NotFoundError(`No layer ${JSON.stringify(value)} (layers: ${LAYERS.join(', ')})`);
  }
  return value as LayerName;
}

/** A city's summary as listed by GET /cities. */
function citySummary(twin: CityTwin) {
  const info = twin.info;
  return {
    id: twin.city,
    name: info.name ?? null,
    country: info.country ?? null,
    population: info.population || null,
    districts: info.districts.map((d) => ({ id: d.id, name: d.name, population: d.population ?? null })),
    position: twin.position?.toString() ?? null,
    counts: twin.counts(),
  };
}

/** Writes a FeatureCollection piece by piece, respecting backpressure, so a large layer never sits in one string. */
async function streamFeatureCollection(
  res: Response,
  features: TwinFeature[],
  members: Record<string, unknown>,
): Promise<void> {
  res.status(200).type('application/geo+json');
  const head = Object.entries(members)
    .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)},`)
    .join('');
  res.write(`{"type":"FeatureCollection",${head}"features":[`);
  const CHUNK = 256;
  for (let i = 0; i < features.length; i += CHUNK) {
    const part = features.slice(i, i + CHUNK).map((f) => JSON.stringify(f));
    const ok = res.write((i === 0 ? '' : ',') + part.join(','));
    if (!ok) await new Promise<void>((resolve) => res.once('drain', resolve));
    if (res.destroyed) return;
  }
  res.end(']}');
}

/**
 * The twin's read routes: cities, layers (with spatial and attribute queries), entities and KPIs. Each takes
 * `position`, `at` or `validAt` for time travel when the server has it enabled.
 */
export function twinRoutes(deps: TwinDeps): Router {
  const router = Router();
  const twins = (): TwinRegistry => {
    if (!deps.twins) throw new UnavailableError('The city twin is not enabled on this server');
    return deps.twins;
  };
  const twinOf = async (cityParam: string, query: Record<string, unknown>) => {
    const city = assertCityId(cityParam);
    const { twin, asOf } = await resolveTwin(deps.timeTravel, city, query, () => twins().get(city));
    if (
      !twin ||
      (!twin.registered && twin.counts().buildings + twin.counts().mobility + twin.counts().grid === 0)
    ) {
      throw new NotFoundError(`No city ${JSON.stringify(city)}`);
    }
    return { twin, asOf };
  };

  router.get('/cities', (_req, res) => {
    const registry = twins();
    // A key sees only the cities of its scope, so the list tells it nothing about the others.
    const scope = (res.locals.principal as Principal | undefined)?.cities ?? '*';
    res.json({
      position: registry.position?.toString() ?? null,
      cities: registry
        .cities()
        .filter((c) => scopeIncludes(scope, c))
        .map((c) => citySummary(registry.get(c)!)),
    });
  });

  router.get('/cities/:city', async (req, res) => {
    const { twin, asOf } = await twinOf(req.params.city, req.query as Record<string, unknown>);
    const info = twin.info;
    res.json({
      ...citySummary(twin),
      timezone: info.timezone ?? null,
      boundary: info.boundary ?? null,
      districts: info.districts.map((d) => ({
        id: d.id,
        name: d.name,
        population: d.population ?? null,
        boundary: d.boundary ?? null,
      })),
      emissionFactors: {
        kgCo2ePerKwh: info.emissionFactors,
        source: info.emissionFactorsSource,
        validFrom: info.emissionFactorsValidFrom ?? null,
      },
      ...(asOf ? { asOf } : {}),
    });
  });

  const layerHandler = (withBody: boolean) => async (req: import('express').Request, res: Response) => {
    const layer = layerOf(req.params.layer as string);
    const query = req.query as Record<string, unknown>;
    const q = parseLayerQuery(layer, query, withBody ? (req.body ?? null) : undefined);
    const { twin, asOf } = await twinOf(req.params.city as string, query);
    const result = twin.query(layer, q);
    if (result.next) {
      const next = new URLSearchParams(
        Object.entries(query).filter(([, v]) => typeof v === 'string') as [string, string][],
      );
      next.set('cursor', result.next);
      res.setHeader('Link', `<${req.baseUrl}${req.path}?${next.toString()}>; rel="next"`);
    }
    await streamFeatureCollection(res, result.features, {
      layer,
      city: twin.city,
      position: asOf?.position ?? twin.position?.toString() ?? null,
      ...(asOf ? { asOf } : {}),
      numberMatched: result.matched,
      numberReturned: result.features.length,
      next: result.next ?? null,
    });
  };
  router.get('/cities/:city/layers/:layer', layerHandler(false));
  router.post('/cities/:city/layers/:layer', layerHandler(true));

  router.get('/cities/:city/entities/:id', async (req, res) => {
    const { twin, asOf } = await twinOf(req.params.city, req.query as Record<string, unknown>);
    const found = twin.get(req.params.id);
    if (!found) throw new NotFoundError(`No entity ${JSON.stringify(req.params.id)} in ${twin.city}`);
    const extra: Record<string, unknown> = {};
    if (found.layer === 'buildings') extra.coverage400m = twin.coverageOfBuilding(found.feature.id) ?? null;
    res.type('application/geo+json').json({
      ...found.feature,
      layer: found.layer,
      city: twin.city,
      position: asOf?.position ?? twin.position?.toString() ?? null,
      ...(asOf ? { asOf } : {}),
      ...extra,
    });
  });

  router.get('/cities/:city/kpis', async (req, res) => {
    const { twin, asOf } = await twinOf(req.params.city, req.query as Record<string, unknown>);
    const kpis = twin.kpis();
    res.json({
      city: twin.city,
      position: asOf?.position ?? twin.position?.toString() ?? null,
      ...(asOf ? { asOf } : {}),
      kpis: kpis.city,
      districts: kpis.districts,
      definitions: KPI_DEFINITIONS,
    });
  });

  return router;
}

const cityParam = { name: 'city', in: 'path', required: true, schema: { type: 'string' } };
const layerParam = {
  name: 'layer',
  in: 'path',
  required: true,
  schema: { type: 'string', enum: [...LAYERS] },
};
const asOfParams = [
  { name: 'position', in: 'query', schema: { type: 'string' }, description: 'as of a global position' },
  { name: 'at', in: 'query', schema: { type: 'string', format: 'date-time' }, description: 'as recorded at' },
  {
    name: 'validAt',
    in: 'query',
    schema: { type: 'string', format: 'date-time' },
    description: 'as it was in the city at',
  },
];
const layerParams = [
  cityParam,
  layerParam,
  { name: 'bbox', in: 'query', schema: { type: 'string' }, description: 'minLon,minLat,maxLon,maxLat' },
  {
    name: 'near',
    in: 'query',
    schema: { type: 'string' },
    description: 'lon,lat (with radius); sorted by distance',
  },
  { name: 'radius', in: 'query', schema: { type: 'number' }, description: 'metres, with near' },
  {
    name: 'kind',
    in: 'query',
    schema: { type: 'string' },
    description: 'comma-separated kinds (building use)',
  },
  ...[
    'use',
    'energyClass',
    'district',
    'heatingSystem',
    'status',
    'finalEnergyBasis',
    'operator',
    'network',
    'element',
  ].map((name) => ({
    name,
    in: 'query',
    schema: { type: 'string' },
    description: 'attribute filter, comma-separated values',
  })),
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100_000 } },
  { name: 'cursor', in: 'query', schema: { type: 'string' }, description: 'the `next` of the previous page' },
  ...asOfParams,
];
const featureCollection = {
  description: 'a GeoJSON FeatureCollection (RFC 7946) with numberMatched, numberReturned and next',
  content: { 'application/geo+json': { schema: { type: 'object' } } },
};

registerPaths({
  '/api/v1/cities': {
    get: {
      summary: 'The cities of the twin, with their districts, entity counts and last position',
      tags: ['twin'],
      responses: { '200': jsonResponse('the cities', { type: 'object' }) },
    },
  },
  '/api/v1/cities/{city}': {
    get: {
      summary: 'One city: boundary, districts, population, emission factors, counts, last position',
      tags: ['twin'],
      parameters: [cityParam, ...asOfParams],
      responses: {
        '200': jsonResponse('the city', { type: 'object' }),
        '404': problemResponse('no such city'),
      },
    },
  },
  '/api/v1/cities/{city}/layers/{layer}': {
    get: {
      summary:
        'A layer as GeoJSON, filtered by bbox, near/radius, kind and attributes, paged with limit/cursor',
      tags: ['twin'],
      parameters: layerParams,
      responses: {
        '200': featureCollection,
        '400': problemResponse('a bad parameter'),
        '404': problemResponse('no such city or layer'),
      },
    },
    post: {
      summary:
        'The features of a layer within a polygon (the body: a GeoJSON Polygon, MultiPolygon or Feature)',
      tags: ['twin'],
      parameters: layerParams,
      requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
      responses: { '200': featureCollection, '400': problemResponse('a bad parameter or polygon') },
    },
  },
  '/api/v1/cities/{city}/entities/{id}': {
    get: {
      summary: 'One entity as a GeoJSON Feature, with its layer',
      tags: ['twin'],
      parameters: [
        cityParam,
        { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
        ...asOfParams,
      ],
      responses: {
        '200': jsonResponse('the feature', { type: 'object' }),
        '404': problemResponse('no such entity'),
      },
    },
  },
  '/api/v1/cities/{city}/kpis': {
    get: {
      summary: 'Climate KPIs of the city and each district, with their definitions',
      tags: ['twin'],
      parameters: [cityParam, ...asOfParams],
      responses: {
        '200': jsonResponse('the KPIs', { type: 'object' }),
        '404': problemResponse('no such city'),
      },
    },
  },
});
