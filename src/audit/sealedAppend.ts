import type { AppendResult, EventStore, NewEvent } from '../eventStore/port.js';
import { GENESIS_HASH, recordedHash, sealEvents } from './hashChain.js';

/**
 * Appends events to one stream sealed into its hash chain: reads the stream's last event for its revision
 * and hash, seals from there and appends expecting exactly that revision, so a concurrent writer makes this
 * fail with a ConcurrencyError instead of forking the chain.
 */
export async function appendSealed(
  store: EventStore,
  stream: string,
  events: NewEvent[],
): Promise<AppendResult> {
  let last: { revision: number; hash: string } | undefined;
  for await (const event of store.readStream(stream, { direction: 'backwards', maxCount: 1 })) {
    last = { revision: event.revision, hash: recordedHash(event) ?? GENESIS_HASH };
  }
  const sealed = sealEvents(stream, last ? last.revision + 1 : 0, last?.hash ?? GENESIS_HASH, events);
  return store.append(stream, sealed, { expectedRevision: last ? last.revision : 'no_stream' });
}
