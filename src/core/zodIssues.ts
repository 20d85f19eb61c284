import type { ZodError } from 'zod';
import { type FieldIssue, ValidationError } from './errors.js';

/** How a bad value is quoted in a message: JSON, cut when long. */
export function quoteValue(value: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    json = undefined;
  }
  const text = json ?? String(value);
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}

/** The value at a path inside an input (undefined when the path leaves it). */
export function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let at: unknown = input;
  for (const key of path) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at;
}

/**
 * Turns a ZodError into FieldIssues: `field` is the dotted path (prefixed, e.g. `data.footprint`), `value`
 * the offending input found at that path, `index` the batch position when given.
 * @example fieldIssuesFromZod(err, { input: item, index: 7, prefix: 'data' })
 */
export function fieldIssuesFromZod(
  error: ZodError,
  options: { input?: unknown; index?: number; prefix?: string } = {},
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const issue of error.issues) {
    const keys =
      issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
    for (const path of keys) {
      const dotted = [options.prefix, ...path.map(String)]
        .filter((p) => p !== undefined && p !== '')
        .join('.');
      const message =
        issue.code === 'unrecognized_keys' ? `unknown field ${String(path[path.length - 1])}` : issue.message;
      const field: FieldIssue = {
        field: dotted || '(body)',
        value: valueAt(options.input, path),
        message,
      };
      if (options.index !== undefined) field.index = options.index;
      issues.push(field);
    }
  }
  return issues;
}

/** A ValidationError from a ZodError, with a message naming the first field and value. */
export function validationErrorFromZod(
  error: ZodError,
  options: { input?: unknown; index?: number; prefix?: string; what?: string } = {},
): ValidationError {
  const issues = fieldIssuesFromZod(error, options);
  const first = issues[0];
  const at = options.index !== undefined ? ` at index ${options.index}` : '';
  const message = first
    ? `${options.what ?? 'Invalid input'}${at}: ${first.field} ${first.message} (value: ${quoteValue(first.value)})`
    : `${options.what ?? 'Invalid input'}${at}`;
  return new ValidationError(message, issues);
}
