import type { RequestHandler } from 'express';
import helmet from 'helmet';

/**
 * Security headers (helmet: no sniffing, no framing, HSTS, a strict CSP since the API serves no pages) and
 * CORS limited to the configured origins. Without CORS_ORIGINS no cross-origin browser call is allowed at
 * all; an allowed origin gets the API key headers, never cookies (keys travel in headers only).
 */
export function securityHeaders(options: { corsOrigins: readonly string[] }): RequestHandler[] {
  const allowed = new Set(options.corsOrigins);
  const cors: RequestHandler = (req, res, next) => {
    const origin = req.get('origin');
    if (origin !== undefined && allowed.has(origin)) {
      res.vary('Origin');
      res.set('Access-Control-Allow-Origin', origin);
      res.set(
        'Access-Control-Expose-Headers',
        'X-Correlation-Id, X-Request-Id, RateLimit, RateLimit-Policy, Retry-After, Preference-Applied',
      );
      if (req.method === 'OPTIONS' && req.get('access-control-request-method')) {
        res.set('Access-Control-Allow-Methods', 'GET, HEAD, POST, DELETE');
        res.set(
          'Access-Control-Allow-Headers',
          'Authorization, X-Api-Key, Content-Type, X-Correlation-Id, X-Request-Id, Accept, X-Source, X-Causation-Id, Prefer',
        );
        res.set('Access-Control-Max-Age', '600');
        res.status(204).end();
        return;
      }
    } else if (req.method === 'OPTIONS' && req.get('access-control-request-method')) {
      // A preflight from an origin we do not serve: answer without any CORS grant.
      res.status(204).end();
      return;
    }
    next();
  };
  return [
    helmet({ contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } } }),
    cors,
  ];
}
