import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { AppError, NotFoundError, PayloadTooLargeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

/**
 * The one place where errors become RFC 7807 `application/problem+json` documents. Every route throws
 * (or passes to `next`) an AppError from src/core/errors.ts; anything else is a bug and becomes a bare 500
 * with no stack trace, message or path of ours in it.
 */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface ProblemIssue {
  index?: number;
  field: string;
  value?: unknown;
  message: string;
}

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  correlationId?: string;
  errors?: ProblemIssue[];
  [extension: string]: unknown;
}

const TITLES: Record<string, string> = {
  'validation-error': 'The request is not valid',
  'domain-rule-violated': 'A domain rule rejected the request',
  'not-found': 'Not found',
  'concurrency-conflict': 'The stream changed meanwhile',
  conflict: 'Conflict',
  unauthorized: 'Unauthorized',
  forbidden: 'Forbidden',
  'payload-too-large': 'Payload too large',
  'rate-limited': 'Too many requests',
  unavailable: 'Service unavailable',
  'malformed-json': 'The body is not valid JSON',
  'unsupported-media-type': 'Unsupported media type',
  'internal-error': 'Internal server error',
};

/** Bad values are echoed back, but never a whole polygon: long ones are cut. */
const MAX_VALUE_CHARS = 300;
function echoValue(value: unknown): unknown {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    return '[unserialisable]';
  }
  if (json === undefined) return String(value);
  return json.length > MAX_VALUE_CHARS ? `${json.slice(0, MAX_VALUE_CHARS)}…` : value;
}

interface HttpishError {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
  limit?: number;
  length?: number;
}

/** Maps anything thrown to an AppError (or undefined for an unexpected error = a bug). */
export function toAppError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  if (err && typeof err === 'object') {
    const e = err as HttpishError;
    // body-parser (express.json) errors carry a `type`.
    if (e.type === 'entity.parse.failed') {
      return new AppError(400, 'malformed-json', 'The request body is not valid JSON');
    }
    if (e.type === 'entity.too.large') {
      return new PayloadTooLargeError(
        `The request body is larger than the limit of ${e.limit ?? '?'} bytes`,
        [{ field: '(body)', value: e.length, message: `at most ${e.limit ?? '?'} bytes` }],
      );
    }
    if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') {
      return new AppError(415, 'unsupported-media-type', 'The request body encoding is not supported');
    }
    const status = e.status ?? e.statusCode;
    if (e.expose && typeof status === 'number' && status >= 400 && status < 500) {
      return new AppError(status, 'bad-request', 'The request could not be processed');
    }
  }
  return undefined;
}

/** The problem document for an error; unexpected errors get a generic 500. */
export function problemFor(err: unknown, instance: string, correlationId?: string): ProblemDocument {
  const app = toAppError(err);
  if (!app) {
    return {
      type: '/problems/internal-error',
      title: TITLES['internal-error']!,
      status: 500,
      detail: 'An unexpected error occurred; quote the correlation id when reporting it',
      instance,
      ...(correlationId ? { correlationId } : {}),
    };
  }
  const doc: ProblemDocument = {
    ...app.extra,
    type: `/problems/${app.code}`,
    title: TITLES[app.code] ?? app.code,
    status: app.status,
    detail: app.message,
    instance,
  };
  if (correlationId) doc.correlationId = correlationId;
  if (app.issues.length > 0) {
    // Members in reading order: where (index, field), what was sent (value), what is wrong (message).
    doc.errors = app.issues.map((i) => ({
      ...(i.index !== undefined ? { index: i.index } : {}),
      field: i.field,
      ...(i.value !== undefined ? { value: echoValue(i.value) } : {}),
      message: i.message,
    }));
  }
  return doc;
}

/** Sends a problem document. */
export function sendProblem(res: Response, problem: ProblemDocument): void {
  res.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
}

/** Express error middleware: the last `app.use` of the app. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const correlationId = res.locals.correlationId as string | undefined;
    const problem = problemFor(err, req.originalUrl.split('?')[0] ?? '/', correlationId);
    if (problem.status >= 500) {
      logger.error({ err, correlationId, url: req.originalUrl }, 'request failed');
    }
    sendProblem(res, problem);
  };
}

/** 404 for every path no route answered. */
export function notFoundHandler(): RequestHandler {
  return (req: Request, _res, next) => {
    next(new NotFoundError(`No route for ${req.method} ${req.path}`));
  };
}

export { fieldIssuesFromZod, validationErrorFromZod, valueAt } from '../core/zodIssues.js';
