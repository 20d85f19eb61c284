/**
 * The catch-up read-ahead's worker thread (started by sqliteReadAhead.ts). Plain JavaScript, so that it
 * starts in a few milliseconds without a TypeScript loader: it gets the feed query's SQL from the store.
 * Its own read-only connection to the store's file (WAL lets it read beside the writer) reads the feed page
 * after page from the position it is told, and sends each page packed as sqlitePageWire.ts's EncodedPage,
 * a few pages ahead of what the subscriber has taken. It stops at the first short page: the end of the
 * history as it saw it, after which the subscriber reads on its own thread.
 */
import { workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { memberPicker } from './jsonMembers.mjs';

/** @type {{ path: string; pageSql: string; headSql: string; streamSql: string; params: string[]; filtered: boolean; limit: number; window: number; metadataKeys: string[] | null; port: import('node:worker_threads').MessagePort; signal: Int32Array }} */
const setup = workerData;
const { port, signal, metadataKeys } = setup;
/** Reduces a metadata text to the members the subscriber reads, when it said which. */
const pickMetadata = metadataKeys ? memberPicker(metadataKeys) : undefined;

/** Sends a message and wakes the subscriber if it waits for one (it receives them synchronously). */
function send(message, transfer) {
  port.postMessage(message, transfer);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
}

/** Ids of the event types named to the subscriber so far (a page names each new one). */
const typeIds = new Map();

/**
 * Packs rows of the store's event columns (position, stream id, revision, id, type, data, metadata,
 * recorded at): the numbers and a type id in a Float64Array, id and recordedAt concatenated with their
 * lengths, the data and metadata texts (JSON already; the metadata reduced to `metadataKeys` when given) as
 * the elements of one JSON array text. A type's name crosses once (`types`), so the subscriber gives every
 * event of a type the same string.
 */
function encodePage(rows, head) {
  const count = rows.length;
  const numbers = new Float64Array(count * 4);
  const lengths = new Int32Array(count * 2);
  const types = [];
  // Both texts are built by appending to one string each (V8 ropes, flattened once when sent): measured
  // ~2x cheaper per row than a template string per row joined at the end.
  let strings = '';
  let json = '[';
  for (let i = 0; i < count; i++) {
    const row = rows[i];
    let type = typeIds.get(row[4]);
    if (type === undefined) {
      type = typeIds.size;
      typeIds.set(row[4], type);
      types.push(row[4]);
    }
    const at = i * 4;
    numbers[at] = row[0];
    numbers[at + 1] = row[1];
    numbers[at + 2] = row[2];
    numbers[at + 3] = type;
    lengths[i * 2] = row[3].length;
    lengths[i * 2 + 1] = row[7].length;
    strings += row[3];
    strings += row[7];
    if (i > 0) json += ',';
    json += row[5];
    json += ',';
    // Only the metadata members the subscriber reads, when it said which (its thread parses the rest for nothing)
    json += pickMetadata ? pickMetadata(row[6]) : row[6];
  }
  json += ']';
  const page = { count, numbers, strings, lengths, json, head };
  if (types.length > 0) page.types = types;
  return page;
}

try {
  const db = new Database(setup.path, { readonly: true, fileMustExist: true, timeout: 10_000 });
  const pageQuery = db.prepare(setup.pageSql).raw();
  const headQuery = db.prepare(setup.headSql).pluck();
  const streamQuery = db.prepare(setup.streamSql).pluck();
  /** Streams already named to the subscriber. */
  const named = new Set();
  /** The position the next page starts after; undefined before the start and after the last page. */
  let next;
  /** Pages it may still send before the subscriber has taken more. */
  let credit = 0;
  let scheduled = false;

  const readPage = (after) => {
    // As the store's own catch-up reads: the head first, then the page (which saw everything up to it).
    const head = setup.filtered ? (headQuery.get() ?? 0) : 0;
    const rows = pageQuery.all(after + 1n, ...setup.params, setup.limit);
    const page = encodePage(rows, head);
    const streams = [];
    for (const row of rows) {
      if (named.has(row[1])) continue;
      named.add(row[1]);
      streams.push([row[1], streamQuery.get(row[1])]);
    }
    if (streams.length > 0) page.streams = streams;
    next = rows.length === setup.limit ? BigInt(rows[rows.length - 1][0]) : undefined;
    credit--;
    send({ after, page }, [page.numbers.buffer, page.lengths.buffer]);
  };
  // One page per turn of the event loop, so commands are heard between pages.
  const pump = () => {
    if (scheduled || next === undefined || credit <= 0) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      if (next === undefined || credit <= 0) return;
      try {
        readPage(next);
      } catch (error) {
        next = undefined;
        send({ failed: error.message });
        return;
      }
      pump();
    });
  };
  port.on('message', (command) => {
    if ('start' in command) {
      next = command.start;
      credit = setup.window;
    } else {
      credit += command.taken;
    }
    pump();
  });
  send({ ready: true });
} catch (error) {
  send({ failed: error.message });
}
