/**
 * RFC 8785 (JCS) canonical JSON, byte-identical to the `canonicalize` package (which the chain was first
 * sealed with, so every stored hash still verifies) but built in one pass into a single string: keys sorted
 * by UTF-16 code units, primitives as `JSON.stringify` writes them (numbers in the ECMAScript form RFC 8785
 * prescribes). The same refusals: NaN, ±Infinity, strings or keys with a lone surrogate, cycles.
 * It runs for every event sealed and every event verified, so it avoids the per-value arrays, joins and
 * Set bookkeeping of the general version.
 */
export function canonicalJson(value: unknown): string | undefined {
  return write(value, []);
}

/** Characters JSON.stringify escapes, and surrogates (checked for lone ones): absent, the text goes in as is. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what JSON escapes
const NEEDS_CARE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A string as canonical JSON writes it (throws on a lone surrogate). */
export function canonicalString(value: string): string {
  if (!NEEDS_CARE.test(value)) return `"${value}"`;
  if (hasLoneSurrogate(value)) throw new Error('Lone surrogate is not allowed');
  return JSON.stringify(value);
}

function hasLoneSurrogate(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = value.charCodeAt(i + 1); // NaN past the end
      if (!(next >= 0xdc00 && next <= 0xdfff)) return true;
      i++;
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      return true;
    }
  }
  return false;
}

/**
 * An array holding only finite numbers and arrays of the same kind (a hole reads as undefined and fails),
 * without toJSON, at most `depth` levels deep: GeoJSON coordinates are 4 at most, and the bound leaves a
 * cyclic array to the general path, which reports the cycle.
 */
function isNumberTree(array: unknown[], depth = 4): boolean {
  if (depth === 0 || typeof (array as { toJSON?: unknown }).toJSON === 'function') return false;
  for (let i = 0; i < array.length; i++) {
    const item = array[i];
    if (typeof item === 'number') {
      if (!Number.isFinite(item)) return false;
    } else if (!Array.isArray(item) || !isNumberTree(item, depth - 1)) {
      return false;
    }
  }
  return true;
}

function write(value: unknown, ancestors: object[]): string | undefined {
  switch (typeof value) {
    case 'string':
      return canonicalString(value);
    case 'number':
      if (Number.isNaN(value)) throw new Error('NaN is not allowed');
      if (!Number.isFinite(value)) throw new Error('Infinity is not allowed');
      // The ECMAScript Number::toString JSON.stringify uses (-0 included: both write 0)
      return `${value}`;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      // undefined, functions, symbols: JSON.stringify's answer (undefined); a bigint throws as it does there
      return JSON.stringify(value);
  }
  if (value === null) return 'null';
  const object = value as Record<string, unknown> & { toJSON?: unknown };
  // Only the current path counts as a cycle: the same object twice side by side is serialised twice.
  if (ancestors.includes(object)) throw new Error('Circular reference detected');
  ancestors.push(object);
  let out: string | undefined;
  if (typeof object.toJSON === 'function') {
    out = write((object.toJSON as () => unknown)(), ancestors);
  } else if (Array.isArray(object)) {
    // Coordinates: an array of finite numbers (or of such arrays, with no holes and no toJSON) is written
    // by JSON.stringify exactly as below, natively and in one call
    if (isNumberTree(object)) {
      ancestors.pop();
      return JSON.stringify(object);
    }
    out = '[';
    for (let i = 0; i < object.length; i++) {
      if (i > 0) out += ',';
      // A hole of a sparse array is skipped by the package's `map`, leaving an empty slot
      if (!(i in object)) continue;
      const item: unknown = object[i];
      // undefined and symbols become null; a function leaves an empty slot
      out += item === undefined || typeof item === 'symbol' ? 'null' : (write(item, ancestors) ?? '');
    }
    out += ']';
  } else {
    out = '{';
    let first = true;
    for (const key of Object.keys(object).sort()) {
      const item = object[key];
      if (item === undefined || typeof item === 'symbol') continue;
      if (!first) out += ',';
      first = false;
      // Template interpolation on purpose: a function value writes `undefined`, exactly as the package does
      out += `${canonicalString(key)}:${write(item, ancestors)}`;
    }
    out += '}';
  }
  ancestors.pop();
  return out;
}
