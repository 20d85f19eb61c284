/**
 * Picks members out of the JSON text of an object without parsing all of it: the catch-up read-ahead's
 * worker (sqliteReadAheadWorker.mjs) reduces each event's metadata to the members its subscriber reads
 * (SubscribeOptions.metadataKeys), so the subscriber's thread parses a few bytes instead of the whole
 * metadata. Plain JavaScript, like the worker.
 */

const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const QUOTE = 34;
const COLON = 58;
const COMMA = 44;
/** A JSON number or literal, alone. */
const LITERAL = /^(?:-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null)$/;

/**
 * A function giving the JSON text of an object holding only the members of `keys` that the object in its
 * `text` has, in `keys` order: the same value as JSON.stringify of those members of JSON.parse(text), for a
 * text JSON.stringify wrote (as the store writes its texts) or any other JSON text without a key twice. A
 * text that is not a JSON object comes back unchanged, and so does one the quick path finds malformed (the
 * subscriber's own parse then reports it).
 * @param {readonly string[]} keys
 * @returns {(text: string) => string}
 */
export function memberPicker(keys) {
  const wanted = [...keys];
  const names = wanted.map((key) => JSON.stringify(key));
  return (text) => pickFromFlat(text, names) ?? pickParsed(text, wanted);
}

/**
 * The slow path: a full parse.
 * @param {string} text
 * @param {readonly string[]} keys
 * @returns {string}
 */
function pickParsed(text, keys) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return text;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return text;
  // No prototype: a member named __proto__ is then an own member like any other.
  const picked = Object.create(null);
  for (const key of keys) if (Object.hasOwn(value, key)) picked[key] = value[key];
  return JSON.stringify(picked);
}

/**
 * The quick path, for what the store holds nearly always (metadata the port serialised with
 * JSON.stringify: one flat object of strings and literals). It trusts the text to be what JSON.stringify
 * writes (valid, no key twice) and checks only the shape around each member it takes; undefined at anything
 * else. With no backslash in the text no string holds a quote, so every quote opens or closes a string; with
 * no brace after the first character and no bracket nothing is nested; the first `"key"` found after the
 * brace or a comma and before a colon is then the member.
 * @param {string} text
 * @param {readonly string[]} names the keys as JSON strings
 * @returns {string | undefined}
 */
function pickFromFlat(text, names) {
  const last = text.length - 1;
  if (last < 1 || text.charCodeAt(0) !== OPEN_BRACE || text.charCodeAt(last) !== CLOSE_BRACE)
    return undefined;
  if (text.indexOf('\\') !== -1 || text.indexOf('{', 1) !== -1 || text.indexOf('[') !== -1) return undefined;
  /** @type {string | undefined} */
  let out;
  for (let k = 0; k < names.length; k++) {
    const name = names[k];
    const at = text.indexOf(name);
    if (at === -1) continue;
    const start = at + name.length + 1;
    // A member: after the brace or a comma, before a colon (the first time it appears could be as a value)
    const before = text.charCodeAt(at - 1);
    if ((before !== OPEN_BRACE && before !== COMMA) || text.charCodeAt(start - 1) !== COLON) return undefined;
    let end;
    if (text.charCodeAt(start) === QUOTE) {
      end = text.indexOf('"', start + 1) + 1;
      if (end === 0) return undefined;
    } else {
      const comma = text.indexOf(',', start);
      end = comma === -1 ? last : comma;
      if (!LITERAL.test(text.slice(start, end))) return undefined;
    }
    const after = text.charCodeAt(end);
    if (after !== COMMA && after !== CLOSE_BRACE) return undefined;
    // The member as it stands in the text: "key":value
    out = out === undefined ? text.slice(at, end) : `${out},${text.slice(at, end)}`;
  }
  return out === undefined ? '{}' : `{${out}}`;
}
