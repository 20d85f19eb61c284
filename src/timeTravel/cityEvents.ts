import { cityStream, ENTITY_KINDS, entityStreamPrefix, parseStream } from '../domain/streams.js';
import type { EventStore, RecordedEvent } from '../eventStore/port.js';

/** The city an event of the real city belongs to (entity and city streams), or undefined (scenarios, others). */
export function cityOfStream(stream: string): string | undefined {
  const parsed = parseStream(stream);
  if (parsed.kind === 'city') return parsed.city;
  if (parsed.kind === 'building' || parsed.kind === 'mobility' || parsed.kind === 'grid') return parsed.city;
  return undefined;
}

/** Stream prefixes covering one city's real streams (a server-side pre-filter; callers check the city exactly). */
export function cityStreamPrefixes(city: string): string[] {
  return [...ENTITY_KINDS.map((kind) => entityStreamPrefix(kind, city)), cityStream(city)];
}

/**
 * The real events of `city` with `from` <= position <= `to`, in position order. The prefix filter is
 * checked exactly again here, because `city-cluj` is also a prefix of `city-cluj-napoca`.
 */
export async function* readCityEvents(
  store: EventStore,
  city: string,
  from: bigint,
  to: bigint,
  extraPrefixes: string[] = [],
): AsyncGenerator<RecordedEvent> {
  if (from > to) return;
  const extra = new Set(extraPrefixes);
  for await (const event of store.readAll({
    fromPosition: from,
    filter: { streamPrefixes: [...cityStreamPrefixes(city), ...extraPrefixes] },
  })) {
    if (event.position > to) return;
    if (cityOfStream(event.stream) === city || extra.has(event.stream)) yield event;
  }
}
