/**
 * How a page of the SQLite feed crosses from the read-ahead worker to the store's thread without stepping
 * SQLite or building row arrays on that thread: the integer columns in a transferred Float64Array, the short
 * text columns (id, type, recordedAt) concatenated with their lengths beside them, and the data and metadata
 * texts, JSON already, as the elements of one JSON array text. Strings cross threads in one copy each, and
 * one JSON.parse per page gives the same values as the per-row parses of the store's own reads.
 */
import type { RecordedEvent } from './port.js';

/** One page as it crosses threads (packed by sqliteReadAheadWorker.mjs's encodePage). */
export interface EncodedPage {
  /** Rows in the page. */
  count: number;
  /** position, stream id, revision and type id of each row, in row order. */
  numbers: Float64Array;
  /** id and recordedAt of each row, in row order, concatenated. */
  strings: string;
  /** The length of each of those strings, in the same order. */
  lengths: Int32Array;
  /** JSON array of the data and metadata of each row, in row order. */
  json: string;
  /** Position of the last event in the store when the page was read (0 when empty), read before the page. */
  head: number;
  /** Id and name of each stream the worker had not named before (so this thread need not look it up). */
  streams?: Array<[number, string]>;
  /** Names of the type ids this page uses first, in id order (ids count up from 0 over the pages). */
  types?: string[];
}

/** Values per row in EncodedPage.numbers (the worker, plain JavaScript, writes the same 4). */
export const NUMBERS_PER_ROW = 4;

/**
 * The string V8 keeps once per content (what literals and property names are): a type name received in
 * this form compares with the projections' literals and finds its entries in their sets by identity.
 */
const internalised = (name: string): string => Object.keys({ [name]: 0 })[0]!;

/**
 * Adds the type names a page introduces to `typeNames` (the names of the type ids, in id order). Called for
 * every page as it arrives, in order, also for pages that are dropped rather than decoded.
 */
export function learnTypes(page: EncodedPage, typeNames: string[]): void {
  if (page.types) for (const name of page.types) typeNames.push(internalised(name));
}

/**
 * Unpacks a page into recorded events exactly like the store's own row decoding (same values, same object
 * shape); `streamName` resolves a stream id, `typeNames` names the type ids (see learnTypes). Throws when
 * the JSON text does not hold two values per row (a stored text that is not one JSON value), so the caller
 * can read that page itself.
 */
export function decodePage(
  page: EncodedPage,
  streamName: (id: number) => string,
  typeNames: string[],
): RecordedEvent[] {
  const { count, numbers, lengths, strings } = page;
  const values = JSON.parse(page.json) as unknown[];
  if (!Array.isArray(values) || values.length !== count * 2) {
    throw new Error(`a read-ahead page of ${count} rows does not hold ${count * 2} JSON values`);
  }
  const events = new Array<RecordedEvent>(count);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const at = i * NUMBERS_PER_ROW;
    const idEnd = offset + lengths[i * 2]!;
    const recordedEnd = idEnd + lengths[i * 2 + 1]!;
    const streamId = numbers[at + 1]!;
    const type = typeNames[numbers[at + 3]!];
    if (type === undefined) throw new Error(`a read-ahead page names no type ${numbers[at + 3]}`);
    // Same property order as the store's row decoding, so consumers see one object shape.
    events[i] = {
      position: BigInt(numbers[at]!),
      stream: streamName(streamId),
      revision: numbers[at + 2]!,
      id: strings.slice(offset, idEnd),
      type,
      data: values[i * 2],
      metadata: values[i * 2 + 1] as Record<string, unknown>,
      recordedAt: strings.slice(idEnd, recordedEnd),
      streamNumber: streamId,
    };
    offset = recordedEnd;
  }
  return events;
}
