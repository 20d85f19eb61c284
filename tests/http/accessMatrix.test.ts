import request from 'supertest';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createKeyRegistry, type KeyRegistry } from '../../src/access/keyRegistry.js';
import type { CityScope, Role } from '../../src/access/roles.js';
import { ROLES } from '../../src/access/roles.js';
import { loadConfig } from '../../src/config.js';
import { fixedClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { createMemoryEventStore } from '../../src/eventStore/memory.js';
import type { EventStore } from '../../src/eventStore/port.js';
import { ACCESS_POLICY, type PolicyRule } from '../../src/http/accessPolicy.js';
import { createApp } from '../../src/http/app.js';
import { buildOpenApiDocument } from '../../src/http/openapi.js';

/**
 * The access matrix: every route of the policy x every role x three city scopes (all, the target city,
 * another city), plus no key, a bad key and a revoked key. Expectations are written out here, not derived
 * from the implementation: a role includes itself and viewer, admin includes everything.
 */
const TARGET = 'cluj-napoca';
const OTHER = 'suceava';
const CLUJ_SCENARIO = '7d0c8f9e-3c55-4d0b-9f0e-0a4b7c6e1f01';
const INCLUDES: Record<Role, readonly Role[]> = {
  viewer: ['viewer'],
  operator: ['viewer', 'operator'],
  planner: ['viewer', 'planner'],
  auditor: ['viewer', 'auditor'],
  admin: ROLES,
};
const SCOPES: Record<string, CityScope> = { all: '*', target: [TARGET], other: [OTHER] };

type App = ReturnType<typeof createApp>;
interface Ctx {
  store: EventStore;
  keys: KeyRegistry;
  app: App;
  key: Record<string, string>;
  revoked: string;
}

function concrete(rule: PolicyRule, city = TARGET): { path: string; body?: unknown } {
  let path = `/api/v1${rule.path}`
    .replace(':city', city)
    .replace(':layer', 'buildings')
    .replace(':keyId', '00000000000000ff');
  path = path.replace(':id', rule.path.startsWith('/scenarios') ? CLUJ_SCENARIO : 'b-1');
  if (rule.city.from === 'query') path += `?${rule.city.name}=${city}`;
  if (rule.city.from === 'body') return { path, body: { [rule.city.field]: city, name: 'x' } };
  if (rule.method === 'POST' && rule.path === '/keys') return { path, body: { role: 'viewer', cities: '*' } };
  if (rule.method === 'POST') return { path, body: {} };
  return { path };
}

function send(app: App, rule: PolicyRule, key?: string, city?: string) {
  const { path, body } = concrete(rule, city);
  const method = rule.method.toLowerCase() as 'get' | 'post' | 'delete';
  let req = request(app)[method](path);
  if (key) req = req.set('Authorization', `Bearer ${key}`);
  return body === undefined ? req : req.send(body as object);
}

function expectedAllowed(rule: PolicyRule, role: Role, scope: string): boolean {
  if (!INCLUDES[role].includes(rule.role)) return false;
  if (rule.city.from === 'none') return true;
  if (rule.city.from === 'global') return scope === 'all';
  return scope === 'all' || scope === 'target';
}

const by = { actor: 'test-setup', source: 'test' };

async function setup(env: Record<string, string> = {}): Promise<Ctx> {
  const store = createMemoryEventStore();
  await store.append(`scenario-${CLUJ_SCENARIO}`, [
    {
      id: '2f1d6a8e-5b0c-4c8e-9a1d-3e2f4b5c6d7e',
      type: 'ScenarioCreated',
      data: {
        scenarioId: CLUJ_SCENARIO,
        city: TARGET,
        name: 'retrofit',
        description: '',
        mode: 'frozen',
        fork: { position: '0' },
        excludeEvents: [],
      },
      metadata: {
        actor: 'p',
        source: 'test',
        occurredAt: '2026-01-01T00:00:00Z',
        correlationId: 'c',
        causationId: null,
      },
    },
  ]);
  const keys = createKeyRegistry(store);
  await keys.start({ live: false });
  const key: Record<string, string> = {};
  for (const role of ROLES) {
    for (const [scopeName, cities] of Object.entries(SCOPES)) {
      key[`${role}/${scopeName}`] = (
        await keys.create({ role, cities, label: `${role} ${scopeName}` }, by)
      ).key;
    }
  }
  const revokedKey = await keys.create({ role: 'admin', cities: '*' }, by);
  await keys.revoke(revokedKey.record.keyId, by);
  const config = loadConfig({ EVENT_STORE: 'memory', RATE_LIMIT_PER_MINUTE: '0', ...env });
  const app = createApp({
    config,
    store,
    clock: fixedClock('2026-06-01T00:00:00Z'),
    logger: silentLogger(),
    keys,
  });
  return { store, keys, app, key, revoked: revokedKey.key };
}

const matrix = suite<Ctx>('access matrix', {} as Ctx);
matrix.before(async (ctx) => {
  Object.assign(ctx, await setup());
});
matrix.after(async (ctx) => {
  await ctx.keys.close();
  await ctx.store.close();
});

matrix('every route x role x city scope is allowed or denied as the policy says', async ({ app, key }) => {
  const failures: string[] = [];
  for (const rule of ACCESS_POLICY) {
    for (const role of ROLES) {
      for (const scope of Object.keys(SCOPES)) {
        const res = await send(app, rule, key[`${role}/${scope}`]);
        const allowed = expectedAllowed(rule, role, scope);
        const denied = res.status === 403;
        if (allowed === denied || res.status === 401) {
          failures.push(
            `${rule.method} ${rule.path} as ${role}/${scope}: ${res.status}, expected ${allowed ? 'allowed' : '403'}`,
          );
        } else if (denied && !String(res.headers['content-type']).startsWith('application/problem+json')) {
          failures.push(`${rule.method} ${rule.path} as ${role}/${scope}: 403 without problem+json`);
        }
      }
    }
  }
  assert.equal(failures, []);
});

matrix('without a key, with a malformed key or with a revoked key every route answers 401', async (ctx) => {
  const failures: string[] = [];
  for (const rule of ACCESS_POLICY) {
    for (const [name, k] of [
      ['none', undefined],
      ['bad', 'ut_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
      ['revoked', ctx.revoked],
    ] as const) {
      const res = await send(ctx.app, rule, k);
      if (res.status !== 401) failures.push(`${rule.method} ${rule.path} with ${name} key: ${res.status}`);
    }
  }
  assert.equal(failures, []);
  const res = await request(ctx.app).get('/api/v1/cities');
  assert.is(res.headers['www-authenticate'], 'Bearer');
  assert.is(res.body.type, '/problems/unauthorized');
});

matrix('the key is accepted in the X-Api-Key header too', async ({ app, key }) => {
  const res = await request(app).get('/api/v1/keys').set('X-Api-Key', key['admin/all']!);
  assert.is(res.status, 200);
  assert.ok(Array.isArray(res.body.keys));
});

matrix('a 403 for a city out of scope is the same whether the city exists or not', async ({ app, key }) => {
  const viewer = key['viewer/other']!;
  const real = await request(app)
    .get(`/api/v1/cities/${TARGET}/kpis`)
    .set('Authorization', `Bearer ${viewer}`);
  const fake = await request(app)
    .get('/api/v1/cities/atlantis/kpis')
    .set('Authorization', `Bearer ${viewer}`);
  const strip = (b: Record<string, unknown>) => ({ ...b, instance: undefined, correlationId: undefined });
  assert.is(real.status, 403);
  assert.is(fake.status, 403);
  assert.equal(strip(real.body), strip(fake.body));
  const scenario = await request(app)
    .get(`/api/v1/scenarios/${CLUJ_SCENARIO}`)
    .set('Authorization', `Bearer ${key['planner/other']}`);
  const noScenario = await request(app)
    .get('/api/v1/scenarios/00000000-0000-4000-8000-000000000000')
    .set('Authorization', `Bearer ${key['planner/other']}`);
  assert.is(scenario.status, 403);
  assert.is(noScenario.status, 403);
  assert.equal(strip(scenario.body), strip(noScenario.body));
});

matrix('city-filtered audit routes need the city for a city-scoped key', async ({ app, key }) => {
  const scoped = await request(app)
    .get('/api/v1/audit/verify')
    .set('Authorization', `Bearer ${key['auditor/target']}`);
  assert.is(scoped.status, 403);
  const all = await request(app)
    .get('/api/v1/audit/verify')
    .set('Authorization', `Bearer ${key['auditor/all']}`);
  assert.not.equal(all.status, 403);
});

matrix(
  'a route missing from the policy is denied, even to an admin; public paths need no key',
  async ({ app, key }) => {
    const admin = `Bearer ${key['admin/all']}`;
    assert.is((await request(app).get('/api/v1/internal/debug').set('Authorization', admin)).status, 403);
    assert.is((await request(app).put('/api/v1/cities/cluj-napoca').set('Authorization', admin)).status, 403);
    assert.is((await request(app).get('/api/v1/internal/debug')).status, 401);
    assert.is((await request(app).get('/health')).status, 200);
    assert.is((await request(app).get('/api/v1/openapi.json')).status, 200);
  },
);

matrix(
  'an OPTIONS request or an odd spelling of a path reveals nothing and reaches nothing',
  async ({ app, key }) => {
    const admin = `Bearer ${key['admin/all']}`;
    const options = await request(app).options('/api/v1/keys');
    assert.is(options.status, 401);
    assert.is(options.headers.allow, undefined);
    assert.is((await request(app).options('/api/v1/keys').set('Authorization', admin)).status, 403);
    assert.is(
      (await request(app).get('/API/V1/KEYS').set('Authorization', `Bearer ${key['viewer/all']}`)).status,
      403,
    );
    assert.is(
      (await request(app).get('/api/v1/keys/').set('Authorization', `Bearer ${key['viewer/all']}`)).status,
      403,
    );
    assert.is((await request(app).get('/api/v1/keys/').set('Authorization', admin)).status, 200);
    const sneaky = await request(app)
      .post('/api/v1/cities/cluj-napoca%2F..%2Fsuceava/events')
      .set('Authorization', `Bearer ${key['operator/other']}`)
      .send({ events: [] });
    assert.is(sneaky.status, 403);
  },
);

matrix('every route in the OpenAPI document is in the access policy', () => {
  const doc = buildOpenApiDocument() as { paths: Record<string, Record<string, unknown>> };
  const policy = new Set(ACCESS_POLICY.map((r) => `${r.method} /api/v1${r.path.replace(/:(\w+)/g, '{$1}')}`));
  const normalise = (p: string) => p.replace(/\{[^}]+\}/g, '{}');
  const known = new Set([...policy].map(normalise));
  const missing: string[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    if (['/health', '/ready', '/api/v1/openapi.json'].includes(path)) continue;
    for (const method of Object.keys(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const id = normalise(`${method.toUpperCase()} ${path}`);
      if (!known.has(id)) missing.push(id);
    }
  }
  assert.equal(missing, []);
});

matrix.run();

const anonymous = suite<Ctx>('anonymous reads', {} as Ctx);
anonymous.before(async (ctx) => {
  Object.assign(ctx, await setup({ ALLOW_ANONYMOUS_READS: 'true' }));
});
anonymous.after(async (ctx) => {
  await ctx.keys.close();
  await ctx.store.close();
});

anonymous('when enabled, viewer reads answer without a key but nothing else does', async ({ app }) => {
  const failures: string[] = [];
  for (const rule of ACCESS_POLICY) {
    const res = await send(app, rule);
    const readable = rule.role === 'viewer' && rule.method === 'GET';
    if (readable !== (res.status !== 401)) failures.push(`${rule.method} ${rule.path}: ${res.status}`);
  }
  assert.equal(failures, []);
});

anonymous('a presented but invalid key is still refused', async ({ app }) => {
  const res = await request(app)
    .get('/api/v1/cities')
    .set('Authorization', 'Bearer nonsense-key-that-is-long-enough-0000');
  assert.is(res.status, 401);
});

anonymous.run();

const limits = suite<Ctx>('rate limit per key', {} as Ctx);
limits.before(async (ctx) => {
  Object.assign(ctx, await setup({ RATE_LIMIT_PER_MINUTE: '3' }));
});
limits.after(async (ctx) => {
  await ctx.keys.close();
  await ctx.store.close();
});

limits('a key over its per-minute budget gets 429 while another key is unaffected', async ({ app, key }) => {
  const a = `Bearer ${key['admin/all']}`;
  const b = `Bearer ${key['viewer/all']}`;
  for (let i = 0; i < 3; i++)
    assert.is((await request(app).get('/api/v1/keys').set('Authorization', a)).status, 200);
  const limited = await request(app).get('/api/v1/keys').set('Authorization', a);
  assert.is(limited.status, 429);
  assert.is(limited.body.type, '/problems/rate-limited');
  assert.not.equal((await request(app).get('/api/v1/cities').set('Authorization', b)).status, 429);
});

limits.run();
