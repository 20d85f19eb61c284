import type { NextFunction, Request, RequestHandler, Response } from 'express';
import express from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import type { KeyRegistry } from '../access/keyRegistry.js';
import type { Principal } from '../access/roles.js';
import { ANONYMOUS_READER, canAccess } from '../access/roles.js';
import { scenarioCityFromStore } from '../access/scenarioCity.js';
import { ForbiddenError, RateLimitedError, UnauthorizedError } from '../core/errors.js';
import type { CitySource, PolicyMatch } from './accessPolicy.js';
import { matchPolicy, PUBLIC_PATHS } from './accessPolicy.js';
import type { AppDeps } from './deps.js';

export interface AccessControlOptions {
  /** The principal a presented key stands for (the key registry's authenticate). */
  authenticate(token: string): Promise<Principal | undefined>;
  /** The city a scenario was forked from, or undefined when there is no such scenario. */
  scenarioCity(scenarioId: string): Promise<string | undefined>;
  /** Serve viewer GETs without a key (as ANONYMOUS_READER). Never any write. */
  allowAnonymousReads?: boolean;
  /** Requests per minute per key (per client IP without a key); 0 disables. */
  rateLimitPerMinute?: number;
  /** Body limit for routes whose city is a body field (the body must be parsed to read it). */
  jsonLimit?: string;
}

/** The authenticated principal of a request, set by the access middleware. */
export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new UnauthorizedError();
  return principal;
}

/** The key a request presents: `Authorization: Bearer <key>` or `X-Api-Key: <key>`. */
export function presentedKey(req: Request): string | undefined {
  const authorization = req.get('authorization');
  if (authorization !== undefined) {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
    return m?.[1] ?? '';
  }
  return req.get('x-api-key');
}

/**
 * THE access middleware, mounted once before all routers: authenticates the key, rate-limits per key, and
 * authorises the request against the access policy (role + city scope). 401 without a valid key, 403 for a
 * role, city or route outside the key's scope. A 403 never depends on whether the city, scenario or entity
 * exists, so it reveals nothing.
 */
export function createAccessControl(options: AccessControlOptions): RequestHandler {
  const perMinute = options.rateLimitPerMinute ?? 0;
  const limiter =
    perMinute > 0
      ? rateLimit({
          windowMs: 60_000,
          limit: perMinute,
          standardHeaders: 'draft-7',
          legacyHeaders: false,
          keyGenerator: (req, res) => {
            const principal = res.locals.principal as Principal | undefined;
            return principal && principal !== ANONYMOUS_READER
              ? `key:${principal.id}`
              : `ip:${ipKeyGenerator(req.ip ?? 'unknown')}`;
          },
          handler: (_req, _res, next) => next(new RateLimitedError()),
        })
      : undefined;
  const parseJson = express.json({
    limit: options.jsonLimit ?? '1mb',
    type: ['application/json', 'application/*+json'],
  });

  async function cityFrom(source: CitySource, match: PolicyMatch, req: Request): Promise<string | undefined> {
    switch (source.from) {
      case 'param':
        return match.params[source.name];
      case 'query': {
        const value = req.query[source.name];
        return typeof value === 'string' && value !== '' ? value : undefined;
      }
      case 'body': {
        const body = req.body as Record<string, unknown> | undefined;
        const value = body && typeof body === 'object' ? body[source.field] : undefined;
        return typeof value === 'string' ? value : undefined;
      }
      case 'scenario': {
        const id = match.params[source.param];
        return id === undefined ? undefined : options.scenarioCity(id);
      }
      case 'none':
      case 'global':
        return undefined;
    }
  }

  async function authorise(req: Request, res: Response): Promise<void> {
    const principal = res.locals.principal as Principal | undefined;
    if (!principal) throw new UnauthorizedError();
    const match = matchPolicy(req.method, req.path);
    if (!match) throw new ForbiddenError();
    const { rule } = match;
    if (principal === ANONYMOUS_READER && (rule.role !== 'viewer' || !['GET', 'HEAD'].includes(req.method))) {
      throw new UnauthorizedError();
    }
    if (rule.city.from === 'body') await runMiddleware(parseJson, req, res);
    const city = await cityFrom(rule.city, match, req);
    const allowed = canAccess(principal, { city, role: rule.role, cityOptional: rule.city.from === 'none' });
    if (!allowed) throw new ForbiddenError();
  }

  return (req: Request, res: Response, next: NextFunction) => {
    // CORS preflights were answered before this (src/http/security.ts); any other OPTIONS is checked like
    // every request, so Express's automatic `Allow` answer never tells a stranger which methods exist.
    if (PUBLIC_PATHS.has(req.path)) {
      next();
      return;
    }
    void (async () => {
      const key = presentedKey(req);
      if (key !== undefined) {
        const principal = await options.authenticate(key);
        if (principal) res.locals.principal = principal;
      } else if (options.allowAnonymousReads) {
        res.locals.principal = ANONYMOUS_READER;
      }
      if (limiter) await runMiddleware(limiter, req, res);
      if (!res.locals.principal) {
        res.set('WWW-Authenticate', 'Bearer');
        throw new UnauthorizedError();
      }
      await authorise(req, res);
    })().then(() => next(), next);
  };
}

/** Runs a middleware to completion; rejects with what it passed to next (an error short-circuits). */
function runMiddleware(mw: RequestHandler, req: Request, res: Response): Promise<void> {
  return new Promise((resolve, reject) => {
    const result = mw(req, res, (err?: unknown) => (err ? reject(err) : resolve()));
    if (result instanceof Promise) result.catch(reject);
  });
}

/**
 * The access middleware as the app mounts it, from the app's config: the key registry given in the deps
 * (main passes a live one) and the scenario lookup on the store.
 */
export function accessControlFor(
  deps: Pick<AppDeps, 'config' | 'store'>,
  keys: Pick<KeyRegistry, 'authenticate'>,
): RequestHandler {
  return createAccessControl({
    authenticate: (token) => keys.authenticate(token),
    scenarioCity: scenarioCityFromStore(deps.store),
    allowAnonymousReads: deps.config.ALLOW_ANONYMOUS_READS,
    rateLimitPerMinute: deps.config.RATE_LIMIT_PER_MINUTE,
    jsonLimit: deps.config.BODY_LIMIT,
  });
}
