import type { z } from 'zod';

/**
 * A fast path for zod 4 schemas on the write path: a parser compiled once from a schema's definition tree
 * that accepts exactly what the schema accepts and returns the very value zod would return (fresh objects
 * and arrays, keys in the schema's order, transforms applied), without zod's per-node payload objects,
 * issue arrays and dispatch. It reports no errors: whenever it does not accept, the caller runs zod itself,
 * so every error (path, message, value) is zod's own.
 *
 * Exactness rests on three rules:
 * - a node kind is compiled only where its zod semantics are reproduced here (objects, strings, numbers,
 *   booleans, literals, enums, arrays, tuples, unions, optional, nullable, pipes into transforms, unknown);
 *   a schema holding anything else (defaults, records, coercion, discriminated or exclusive unions, …)
 *   compiles to undefined and is always parsed by zod;
 * - checks (lengths, bounds, formats, refinements, superRefine) are not re-implemented: each runs through
 *   its own zod check function, in zod's order, on the value zod would hand it (the node's output);
 * - a rejection here means zod rejects too (not "unsure"), which is what lets a union try its options in
 *   order as zod does; the one case that cannot be decided here (an asynchronous check or transform) makes
 *   the whole parse give up, so zod decides.
 */

/** What a fast parser returns when the input is not exactly valid: parse it with zod instead. */
export const REJECTED: unique symbol = Symbol('rejected by the fast parser');

/** A compiled parser: the value zod would return, or REJECTED. */
export type FastParser = (input: unknown) => unknown;

type Fast = (input: unknown) => unknown;

interface CheckInternals {
  def: { when?: (payload: Payload) => boolean };
  check: (payload: Payload) => unknown;
}

interface Internals {
  def: Record<string, unknown> & { type: string; checks?: { _zod: CheckInternals }[] };
  traits: Set<string>;
  optin?: 'optional' | 'defaulted';
  optout?: 'optional';
  values?: Set<unknown>;
  check?: (payload: Payload) => unknown;
  run: (payload: Payload, ctx: { async: boolean }) => Payload | Promise<Payload>;
}

interface Payload {
  value: unknown;
  issues: unknown[];
}

/** Thrown inside a parse when it cannot be decided here; the parse then gives up (REJECTED, zod decides). */
class Undecided extends Error {}

const internals = (schema: unknown): Internals => (schema as { _zod: Internals })._zod;

/**
 * Compiles a schema into a fast parser, or undefined when the schema uses a feature this does not
 * reproduce exactly (then zod parses every input of it).
 */
export function compileFastParser(schema: z.ZodType): FastParser | undefined {
  const parse = compile(schema);
  if (!parse) return undefined;
  return (input) => {
    try {
      return parse(input);
    } catch {
      // Undecided, or a refinement that throws: zod runs it again and behaves as it always did
      return REJECTED;
    }
  };
}

function compile(schema: unknown): Fast | undefined {
  const zod = internals(schema);
  const base = compileBase(zod);
  if (!base) return undefined;
  // As zod's $ZodType: a schema that is itself a check (string formats) runs first, then its def's checks.
  const checks: CheckInternals[] = [];
  if (zod.traits.has('$ZodCheck')) checks.push(zod as unknown as CheckInternals);
  for (const check of zod.def.checks ?? []) checks.push(check._zod);
  if (checks.length === 0) return base;
  for (const check of checks) if (typeof check.check !== 'function') return undefined;
  return (input) => {
    const value = base(input);
    return value === REJECTED ? REJECTED : runChecks(value, checks);
  };
}

/**
 * Runs checks as zod's runChecks does on a payload without issues: each check whose `when` (if any)
 * allows it, in order; the first issue rejects (zod would report it). Overwriting checks may replace
 * the value, which is then the result.
 */
function runChecks(value: unknown, checks: CheckInternals[]): unknown {
  const payload: Payload = { value, issues: [] };
  for (let i = 0; i < checks.length; i++) {
    const check = checks[i]!;
    const when = check.def.when;
    if (when && !when(payload)) continue;
    const outcome = check.check(payload);
    if (outcome instanceof Promise) throw new Undecided();
    if (payload.issues.length > 0) return REJECTED;
  }
  return payload.value;
}

const isPlainOptional = (zod: Internals) => zod.optin === 'optional' && zod.optout === 'optional';
const isRequired = (zod: Internals) => zod.optin === undefined && zod.optout === undefined;

function compileBase(zod: Internals): Fast | undefined {
  const def = zod.def;
  switch (def.type) {
    case 'string':
      if (def.coerce) return undefined;
      return (v) => (typeof v === 'string' ? v : REJECTED);
    case 'number':
      if (def.coerce) return undefined;
      return (v) => (typeof v === 'number' && Number.isFinite(v) ? v : REJECTED);
    case 'boolean':
      if (def.coerce) return undefined;
      return (v) => (typeof v === 'boolean' ? v : REJECTED);
    case 'literal':
    case 'enum': {
      // the very set zod's own parse tests membership in
      const values = zod.values;
      if (!values) return undefined;
      return (v) => (values.has(v) ? v : REJECTED);
    }
    case 'unknown':
    case 'any':
      return (v) => v;
    case 'optional': {
      if (zod.traits.has('$ZodExactOptional')) return undefined;
      const innerZod = internals(def.innerType);
      if (innerZod.optin === 'defaulted') return undefined;
      const inner = compile(def.innerType);
      if (!inner) return undefined;
      return (v) => (v === undefined ? undefined : inner(v));
    }
    case 'nullable': {
      const inner = compile(def.innerType);
      if (!inner) return undefined;
      return (v) => (v === null ? null : inner(v));
    }
    case 'object':
      return compileObject(def);
    case 'array': {
      const element = compile(def.element);
      if (!element) return undefined;
      return (v) => {
        if (!Array.isArray(v)) return REJECTED;
        const out = new Array(v.length);
        for (let i = 0; i < v.length; i++) {
          const item = element(v[i]);
          if (item === REJECTED) return REJECTED;
          out[i] = item;
        }
        return out;
      };
    }
    case 'tuple':
      return compileTuple(def);
    case 'union': {
      if (def.inclusive === false || def.discriminator !== undefined) return undefined;
      const options = (def.options as unknown[]).map(compile);
      if (options.length === 0 || options.some((o) => !o)) return undefined;
      const compiled = options as Fast[];
      if (compiled.length === 1) return compiled[0];
      // zod returns the first option that accepts (each rejection here is zod's rejection too)
      return (v) => {
        for (let i = 0; i < compiled.length; i++) {
          const out = compiled[i]!(v);
          if (out !== REJECTED) return out;
        }
        return REJECTED;
      };
    }
    case 'pipe': {
      if (zod.traits.has('$ZodCodec')) return undefined;
      const input = compile(def.in);
      const output = compileOutput(def.out);
      if (!input || !output) return undefined;
      return (v) => {
        const left = input(v);
        return left === REJECTED ? REJECTED : output(left);
      };
    }
    case 'transform':
      return compileTransform(zod);
    default:
      return undefined;
  }
}

/** The right side of a pipe: a transform (run by zod's own transform node) or another schema. */
function compileOutput(schema: unknown): Fast | undefined {
  const zod = internals(schema);
  return zod.def.type === 'transform' ? compileTransform(zod) : compile(schema);
}

function compileTransform(zod: Internals): Fast | undefined {
  if ((zod.def.checks ?? []).length > 0) return undefined;
  return (v) => {
    const result = zod.run({ value: v, issues: [] }, { async: false });
    if (result instanceof Promise) throw new Undecided();
    return result.issues.length > 0 ? REJECTED : result.value;
  };
}

function compileObject(def: Internals['def']): Fast | undefined {
  const shape = def.shape as Record<string, unknown>;
  if (Object.getOwnPropertySymbols(shape).length > 0) return undefined;
  const keys = Object.keys(shape);
  if (keys.includes('__proto__')) return undefined;
  const catchall = def.catchall === undefined ? undefined : internals(def.catchall);
  // strip (no catchall) or strict (never); a catchall schema is not reproduced
  if (catchall && catchall.def.type !== 'never') return undefined;
  const strict = catchall !== undefined;
  const fields: { key: string; parse: Fast; optional: boolean }[] = [];
  for (const key of keys) {
    const field = internals(shape[key]);
    // required, or plainly optional: the two ways zod treats a key whose presence is all that varies
    if (!isRequired(field) && !isPlainOptional(field)) return undefined;
    const parse = compile(shape[key]);
    if (!parse) return undefined;
    fields.push({ key, parse, optional: isPlainOptional(field) });
  }
  return objectParser(fields, strict ? new Set(keys) : undefined);
}

/**
 * The object parser, generated with the shape's keys as literals (as zod's own JIT does): stores to
 * `out[key]` with a varying key would go through V8's generic keyed stores, several times slower.
 * Keys enter the source only as JSON string literals.
 */
function objectParser(
  fields: { key: string; parse: Fast; optional: boolean }[],
  strictKeys: Set<string> | undefined,
): Fast {
  const lines = ['if (typeof v !== "object" || v === null || Array.isArray(v)) return R;', 'const out = {};'];
  fields.forEach((field, i) => {
    const key = JSON.stringify(field.key);
    // zod asks `key in input` (an inherited key counts as present)
    lines.push(
      `if (${key} in v) { const x = p[${i}](v[${key}]); if (x === R) return R; out[${key}] = x; }${field.optional ? '' : ' else return R;'}`,
    );
  });
  if (strictKeys) lines.push('for (const k in v) if (!keys.has(k)) return R;');
  lines.push('return out;');
  const make = new Function('R', 'p', 'keys', `return (v) => {\n${lines.join('\n')}\n};`) as (
    rejected: typeof REJECTED,
    parsers: Fast[],
    keys: Set<string> | undefined,
  ) => Fast;
  return make(
    REJECTED,
    fields.map((f) => f.parse),
    strictKeys,
  );
}

function compileTuple(def: Internals['def']): Fast | undefined {
  if (def.rest) return undefined;
  const items = def.items as unknown[];
  if (!items.every((item) => isRequired(internals(item)))) return undefined;
  const parsers = items.map(compile);
  if (parsers.some((p) => !p)) return undefined;
  const compiled = parsers as Fast[];
  const n = compiled.length;
  return (v) => {
    // with every item required, zod accepts exactly n items
    if (!Array.isArray(v) || v.length !== n) return REJECTED;
    const out: unknown[] = [];
    for (let i = 0; i < n; i++) {
      const item = compiled[i]!(v[i]);
      if (item === REJECTED) return REJECTED;
      out.push(item);
    }
    return out;
  };
}
