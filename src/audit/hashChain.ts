import { hash as oneShotHash } from 'node:crypto';
import { recordedCanonicalText } from '../core/canonicalText.js';
import type { NewEvent, RecordedEvent } from '../eventStore/port.js';
import { canonicalJson } from './canonicalJson.js';

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
 * type }, so the data's canonical text can be one the writer already has (see core/canonicalText.ts).
 */
export function eventHash(event: Hashable): string {
  const { hash: _ignored, ...metadata } = event.metadata;
  const data = recordedCanonicalText(event.data) ?? canonicalJson(event.data);
  // A member whose value JSON cannot hold (undefined) is left out, as canonicalJson leaves it out.
  const canonical = `{${data === undefined ? '' : `"data":${data},`}"metadata":${canonicalJson(metadata)},"revision":${canonicalJson(event.revision)},"stream":${canonicalJson(event.stream)},"type":${canonicalJson(event.type)}}`;
  // One-shot: no Hash object per event (the same SHA-256 over the same UTF-8 bytes)
  return oneShotHash('sha256', canonical, 'hex');
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
    const metadata: Record<string, unknown> = { ...event.metadata, prevHash: previous };
    const hash = eventHash({
      stream,
      revision: firstRevision + i,
      type: event.type,
      data: event.data,
      metadata,
    });
    previous = hash;
    return { ...event, metadata: { ...metadata, hash } };
  });
}

/** The hash a recorded event claims for itself (undefined when it was never sealed). */
export function recordedHash(event: RecordedEvent): string | undefined {
  const hash = event.metadata.hash;
  return typeof hash === 'string' ? hash : undefined;
}
