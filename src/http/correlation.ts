import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';

/** Accepted inbound ids: printable, header-safe, bounded (anything else is replaced by a fresh UUID). */
const ID_PATTERN = /^[A-Za-z0-9._:@/+=-]{1,200}$/;

/** The id if it is acceptable as a correlation/request id, else undefined. */
export function acceptableId(value: unknown): string | undefined {
  return typeof value === 'string' && ID_PATTERN.test(value) ? value : undefined;
}

/**
 * Honours `X-Correlation-Id` (or generates one), keeps it in `res.locals.correlationId` for the routes
 * (it becomes every appended event's correlationId) and returns it on every response, errors included.
 */
export function correlationId(): RequestHandler {
  return (req, res, next) => {
    const id = acceptableId(req.get('x-correlation-id')) ?? randomUUID();
    res.locals.correlationId = id;
    res.setHeader('X-Correlation-Id', id);
    next();
  };
}
