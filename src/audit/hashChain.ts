import { hash as oneShotHash } from 'node:crypto';
import type { NewEvent, RecordedEvent } from '../eventStore/port.js';
import { canonicalJson, canonicalString } from './canonicalJson.js';

/**
 * Per-stream hash chain for tamper evidence. Each event's metadata holds `prevHash` (the hash of the
 * stream's previous event, or GENESIS for revision 0) and `hash`, a SHA-256 over the RFC 8785 canonical
 * JSON of { stream, revision, type, data, metadata-without-hash }. Editing any of those, deleting or
 * reordering an event breaks the chain at that point; `verify` recomputes it.
 */
export const GENESIS_HASH = '0'.repeat(64);

interface Hashable {
  stream: string;
  revision: number;
  type: string;
  data: unknown;
  metadata: Record<string, unknown>;
}

/**
 * The hash of one event, over its canonical serialisation (metadata's own `hash` excluded). The text is
 * composed member by member, in the sorted key order RFC 8785 gives { data, metadata, revision, stream,
 * type }, so the data's canonical text can be one the writer already has (NewEvent.dataText).
 */
export function eventHash(event: Hashable): string {
  const { hash: _ignored, ...metadata } = event.metadata;
  return hashOf(event.stream, event.revision, event.type, canonicalJson(event.data), metadata);
}

/**
 * The hash over { data, metadata, revision, stream, type }, given the data's canonical text and `metadata`
 * already without its `hash`.
 */
function hashOf(
  stream: string,
  revision: number,
  type: string,
  dataText: string | undefined,
  metadata: Record<string, unknown>,
): string {
  // A member whose value JSON cannot hold (undefined) is left out, as canonicalJson leaves it out.
  const canonical = `{${dataText === undefined ? '' : `"data":${dataText},`}"metadata":${metadataText(metadata)},"revision":${canonicalJson(revision)},"stream":${canonicalJson(stream)},"type":${canonicalJson(type)}}`;
  // One-shot: no Hash object per event (the same SHA-256 over the same UTF-8 bytes)
  return oneShotHash('sha256', canonical, 'hex');
}

/** The members the write path gives every event's metadata (plus prevHash), in canonical (sorted) order. */
const METADATA_KEYS = [
  'actor',
  'causationId',
  'correlationId',
  'occurredAt',
  'prevHash',
  'reason',
  'source',
] as const;

/**
 * canonicalJson(metadata), written directly for the metadata the write path seals (only the members above,
 * strings or null): no key sort and no walk per event. Any other metadata goes through canonicalJson.
 */
function metadataText(metadata: Record<string, unknown>): string | undefined {
  let out = '{';
  let present = 0;
  for (let i = 0; i < METADATA_KEYS.length; i++) {
    const key = METADATA_KEYS[i]!;
    if (!(key in metadata)) continue;
    present++;
    const value = metadata[key];
    if (value === undefined) continue;
    let text: string;
    if (typeof value === 'string') text = canonicalString(value);
    else if (value === null) text = 'null';
    else return canonicalJson(metadata);
    out += out.length === 1 ? `"${key}":${text}` : `,"${key}":${text}`;
  }
  // Another member (or an inherited one counted by `in`): the general path
  if (present !== Object.keys(metadata).length) return canonicalJson(metadata);
  return `${out}}`;
}

/**
 * Seals events about to be appended at `firstRevision` of `stream`, chaining from `prevHash`
 * (the stream's last event's hash; GENESIS_HASH for a new stream). Returns new event objects.
 */
export function sealEvents(
  stream: string,
  firstRevision: number,
  prevHash: string,
  events: NewEvent[],
): NewEvent[] {
  let previous = prevHash;
  return events.map((event, i) => {
    // One fresh metadata object per event, filled in place (spreads and rests cost a copy each)
    const metadata: Record<string, unknown> = {};
    const given = event.metadata ?? {};
    for (const key in given) if (key !== 'hash') metadata[key] = given[key];
    metadata.prevHash = previous;
    const dataText = event.dataText ?? canonicalJson(event.data);
    const hash = hashOf(stream, firstRevision + i, event.type, dataText, metadata);
    metadata.hash = hash;
    previous = hash;
    const sealed: NewEvent = { id: event.id, type: event.type, data: event.data, metadata };
    if (dataText !== undefined) sealed.dataText = dataText;
    return sealed;
  });
}

/** The hash a recorded event claims for itself (undefined when it was never sealed). */
export function recordedHash(event: RecordedEvent): string | undefined {
  const hash = event.metadata.hash;
  return typeof hash === 'string' ? hash : undefined;
}
