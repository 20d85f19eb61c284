import { createHash } from 'node:crypto';
import type { EventStore, RecordedEvent } from '../eventStore/port.js';
import type { ScenarioCityResolver } from './cityStreams.js';
import { cityStreamSelector } from './cityStreams.js';
import { eventHash, GENESIS_HASH, recordedHash } from './hashChain.js';

/** Why a link of a stream's chain is broken. */
export type BrokenLinkProblem =
  /** The event's content no longer hashes to the hash it was sealed with: it was edited. */
  | 'hash-mismatch'
  /** The event does not point at its predecessor's hash: one was removed, replaced or moved. */
  | 'prev-hash-mismatch'
  /** Revisions skip: the events from `revision` up to `foundRevision - 1` are missing. */
  | 'revision-gap'
  /** A revision arrives after a later one in the global order: events were reordered. */
  | 'out-of-order'
  /** The event was never sealed (or its hash was stripped). */
  | 'missing-hash';

export interface BrokenLink {
  stream: string;
  /** The revision where the chain breaks (for a gap: the first missing revision). */
  revision: number;
  problem: BrokenLinkProblem;
  /** The event found there (for a gap: the first event after it). */
  eventId: string;
  position: string;
  foundRevision?: number;
  expected?: string;
  actual?: string;
}

export interface VerifyReport {
  /** The city verified, or null for the whole store. */
  city: string | null;
  ok: boolean;
  streamsChecked: number;
  eventsChecked: number;
  /** The first broken link of every broken stream, in stream order. */
  broken: BrokenLink[];
  /**
   * SHA-256 over every stream's `name revision headHash` line, sorted. Recording it (or publishing it) lets a
   * later verify prove that no stream was cut short at its end, which a chain alone cannot show.
   */
  digest: string;
  /** The store's last position when the check started; events after it are left for the next check. */
  headPosition: string | null;
}

interface ChainState {
  nextRevision: number;
  lastHash: string;
  broken: boolean;
}

/**
 * Recomputes the hash chain of every stream of a city (or of the whole store) in one pass over the global
 * feed, and reports the first broken link per stream: an edited event (hash mismatch), a deleted one
 * (revision gap or previous-hash mismatch) or reordered ones.
 */
export async function verifyChains(
  store: EventStore,
  options: { city?: string; scenarioCity?: ScenarioCityResolver } = {},
): Promise<VerifyReport> {
  const head = await store.headPosition();
  const chains = new Map<string, ChainState>();
  const broken: BrokenLink[] = [];
  let eventsChecked = 0;
  if (head !== undefined) {
    const selector = options.city ? cityStreamSelector(options.city, options.scenarioCity) : undefined;
    const events = store.readAll(selector ? { filter: { streamPrefixes: selector.prefixes } } : {});
    for await (const event of events) {
      if (event.position > head) break;
      if (selector && !(await selector.belongs(event.stream))) continue;
      eventsChecked++;
      let chain = chains.get(event.stream);
      if (!chain) {
        chain = { nextRevision: 0, lastHash: GENESIS_HASH, broken: false };
        chains.set(event.stream, chain);
      }
      if (chain.broken) continue;
      const link = checkLink(chain, event);
      if (link) {
        chain.broken = true;
        broken.push(link);
      }
    }
  }
  broken.sort((a, b) => a.stream.localeCompare(b.stream));
  const digest = createHash('sha256');
  for (const stream of [...chains.keys()].sort()) {
    const chain = chains.get(stream) as ChainState;
    digest.update(`${stream} ${chain.nextRevision - 1} ${chain.lastHash}\n`);
  }
  return {
    city: options.city ?? null,
    ok: broken.length === 0,
    streamsChecked: chains.size,
    eventsChecked,
    broken,
    digest: digest.digest('hex'),
    headPosition: head === undefined ? null : head.toString(),
  };
}

/** Checks one event against its stream's chain so far; advances the chain when the link holds. */
function checkLink(chain: ChainState, event: RecordedEvent): BrokenLink | undefined {
  const at = { stream: event.stream, eventId: event.id, position: event.position.toString() };
  if (event.revision > chain.nextRevision) {
    return {
      ...at,
      revision: chain.nextRevision,
      problem: 'revision-gap',
      foundRevision: event.revision,
      expected: String(chain.nextRevision),
      actual: String(event.revision),
    };
  }
  if (event.revision < chain.nextRevision) {
    return {
      ...at,
      revision: event.revision,
      problem: 'out-of-order',
      expected: String(chain.nextRevision),
      actual: String(event.revision),
    };
  }
  const claimed = recordedHash(event);
  if (claimed === undefined) return { ...at, revision: event.revision, problem: 'missing-hash' };
  const prevHash = event.metadata.prevHash;
  if (prevHash !== chain.lastHash) {
    return {
      ...at,
      revision: event.revision,
      problem: 'prev-hash-mismatch',
      expected: chain.lastHash,
      actual: typeof prevHash === 'string' ? prevHash : String(prevHash),
    };
  }
  const actual = eventHash(event);
  if (actual !== claimed) {
    return { ...at, revision: event.revision, problem: 'hash-mismatch', expected: claimed, actual };
  }
  chain.nextRevision++;
  chain.lastHash = claimed;
  return undefined;
}
