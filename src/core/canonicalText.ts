/**
 * RFC 8785 canonical JSON texts already written for values on the write path, so that one serialisation
 * of an event's data serves both its hash and its row in the store instead of three (canonical for the
 * hash, JSON.stringify for the store, and, with the parse workers, the copy between threads).
 *
 * Keyed by identity in a WeakMap (nothing leaks: an entry goes with its value). Only canonical texts are
 * recorded, and only by the writer for the events it is about to append; a recorded value is never changed
 * afterwards (event data is immutable once parsed).
 */
const texts = new WeakMap<object, string>();

/** Records `text` as the canonical JSON of `value` (an object or array). */
export function recordCanonicalText(value: object, text: string): void {
  texts.set(value, text);
}

/** The canonical JSON recorded for `value`, if any. */
export function recordedCanonicalText(value: unknown): string | undefined {
  return typeof value === 'object' && value !== null ? texts.get(value) : undefined;
}
