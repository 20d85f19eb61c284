/**
 * The one error hierarchy of the system. Every error a user can cause or meet carries its HTTP status and,
 * where it is about input, the issues that name the field and the bad value. The HTTP layer maps these to
 * RFC 7807 problem+json in exactly one place (src/http/problem.ts).
 */

/** One thing wrong with the input: where (`field`, a dotted path; `index` within a batch), what, and the value. */
export interface FieldIssue {
  field: string;
  message: string;
  value?: unknown;
  index?: number;
}

export class AppError extends Error {
  constructor(
    /** HTTP status this error maps to. */
    readonly status: number,
    /** Stable, machine-readable slug; becomes the problem `type` (`/problems/<code>`). */
    readonly code: string,
    message: string,
    readonly issues: FieldIssue[] = [],
    /** Extension members added to the problem document (never internals). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The input does not have the expected shape (schema, syntax, types). */
export class ValidationError extends AppError {
  constructor(message: string, issues: FieldIssue[] = []) {
    super(400, 'validation-error', message, issues);
  }
}

/** The input is well-formed but breaks a domain rule against the entity's current state. */
export class DomainRuleError extends AppError {
  constructor(message: string, issues: FieldIssue[] = []) {
    super(422, 'domain-rule-violated', message, issues);
  }
}

export class NotFoundError extends AppError {
  constructor(message: string) {
    super(404, 'not-found', message);
  }
}

/** Optimistic concurrency: the stream is not at the revision the writer expected. */
export class ConcurrencyError extends AppError {
  constructor(
    readonly stream: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      409,
      'concurrency-conflict',
      `Stream ${stream} is at revision ${actual}, expected ${expected}`,
      [],
      {
        stream,
        expected,
        actual,
      },
    );
  }
}

/** A request conflicts with existing state in a way that is not a revision race (e.g. already exists). */
export class ConflictError extends AppError {
  constructor(message: string, issues: FieldIssue[] = []) {
    super(409, 'conflict', message, issues);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'A valid API key is required') {
    super(401, 'unauthorized', message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'This key may not do that') {
    super(403, 'forbidden', message);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(message: string, issues: FieldIssue[] = []) {
    super(413, 'payload-too-large', message, issues);
  }
}

export class RateLimitedError extends AppError {
  constructor(message = 'Too many requests') {
    super(429, 'rate-limited', message);
  }
}

/** A dependency (the event store) is not reachable or not ready. */
export class UnavailableError extends AppError {
  constructor(message: string) {
    super(503, 'unavailable', message);
  }
}

/**
 * An error as it crosses between threads (a structured clone keeps no class): an AppError's parts, or
 * (`bug`) an unexpected error's message.
 */
export interface WireError {
  status: number;
  code: string;
  message: string;
  issues?: FieldIssue[];
  extra?: Record<string, unknown>;
  bug?: boolean;
}

export function errorToWire(error: unknown): WireError {
  if (error instanceof AppError) {
    return {
      status: error.status,
      code: error.code,
      message: error.message,
      issues: error.issues,
      extra: error.extra,
    };
  }
  return { status: 500, code: 'internal', message: (error as Error)?.message ?? String(error), bug: true };
}

/** The error a thread reported, as the class its code stands for (callers test `instanceof`). */
export function errorFromWire(wire: WireError): Error {
  if (wire.bug) return new Error(wire.message);
  const issues = wire.issues ?? [];
  const extra = wire.extra ?? {};
  switch (wire.code) {
    case 'validation-error':
      return new ValidationError(wire.message, issues);
    case 'domain-rule-violated':
      return new DomainRuleError(wire.message, issues);
    case 'conflict':
      return new ConflictError(wire.message, issues);
    case 'payload-too-large':
      return new PayloadTooLargeError(wire.message, issues);
    case 'unavailable':
      return new UnavailableError(wire.message);
    case 'concurrency-conflict':
      return new ConcurrencyError(String(extra.stream), String(extra.expected), String(extra.actual));
    default:
      return new AppError(wire.status, wire.code, wire.message, issues, extra);
  }
}

/** For exhaustive switches over discriminated unions. */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`Unexpected ${what}: ${JSON.stringify(value)}`);
}
