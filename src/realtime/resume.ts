/**
 * Resume from the event store: the twin changes a client missed after `since`, rebuilt from the store
 * itself (not from a buffer bounded in time). Each touched entity's state before the missed range comes from
 * folding its own stream (and the city's, whose emission factors feed building features) into a scratch twin
 * with the twin's own pure projections, so the changes are exactly those the live twin emitted.
 */
import { cityStream, entityStreamPrefix, parseStream } from '../domain/streams.js';
import type { EventStore, RecordedEvent } from '../eventStore/port.js';
import { changeBatchOf, type TwinChange, type TwinChangeBatch } from '../twin/changes.js';

/** A twin that events can be applied to, returning what each changed (a `CityTwin` fits). */
export interface ScratchTwin {
  apply(event: RecordedEvent): TwinChange[];
}

export type ResumePlan =
  /** The missed changes, one batch per event in order; `through` is the last position they cover. */
  | { kind: 'replay'; batches: TwinChangeBatch[]; through: bigint }
  /**
   * More than `maxEvents` events of the city were missed, or a city-wide change (new emission factors
   * re-derive every building) is among them: the caller sends a fresh snapshot instead.
   */
  | { kind: 'too-large'; missed: number };

/** City events whose changes reach entities outside their own stream. */
const CITY_WIDE_EVENTS = new Set(['EmissionFactorsSet']);

/** The stream-name prefixes of everything a city's twin is made of. */
export function cityStreamPrefixes(city: string): string[] {
  return [
    cityStream(city),
    entityStreamPrefix('building', city),
    entityStreamPrefix('mobility', city),
    entityStreamPrefix('grid', city),
  ];
}

/** Whether a stream belongs to the city (prefix matches alone would let `city-cluj` match `city-cluj-napoca`). */
export function isCityStream(stream: string, city: string): boolean {
  const parsed = parseStream(stream);
  return parsed.kind !== 'scenario' && parsed.kind !== 'other' && parsed.city === city;
}

/**
 * Reads the city's events after `since` (exclusive) and turns them into change batches, or reports that
 * more than `maxEvents` were missed.
 * @example await planResume({ store, city: 'suceava', since: 42n, maxEvents: 10_000, scratch: createCityTwin })
 */
export async function planResume(options: {
  store: EventStore;
  city: string;
  since: bigint;
  maxEvents: number;
  scratch: (city: string) => ScratchTwin;
}): Promise<ResumePlan> {
  const { store, city, since, maxEvents } = options;
  const missed: RecordedEvent[] = [];
  for await (const event of store.readAll({
    fromPosition: since + 1n,
    filter: { streamPrefixes: cityStreamPrefixes(city) },
    maxCount: maxEvents + 1,
  })) {
    if (!isCityStream(event.stream, city)) continue;
    missed.push(event);
    if (missed.length > maxEvents || CITY_WIDE_EVENTS.has(event.type)) {
      return { kind: 'too-large', missed: missed.length };
    }
  }

  // Every touched stream, folded up to (not including) its first missed event; the city stream always,
  // since building features depend on the city's emission factors.
  const firstMissedRevision = new Map<string, number>([[cityStream(city), Number.POSITIVE_INFINITY]]);
  for (const event of missed) {
    const first = firstMissedRevision.get(event.stream);
    if (first === undefined || event.revision < first) firstMissedRevision.set(event.stream, event.revision);
  }
  const twin = options.scratch(city);
  const prior = async (stream: string, upToRevision: number) => {
    if (upToRevision <= 0) return;
    for await (const event of store.readStream(stream, {
      fromRevision: 'start',
      ...(Number.isFinite(upToRevision) ? { maxCount: upToRevision } : {}),
    })) {
      if (event.position > since) break;
      twin.apply(event);
    }
  };
  await prior(cityStream(city), firstMissedRevision.get(cityStream(city))!);
  for (const [stream, revision] of firstMissedRevision) {
    if (stream !== cityStream(city)) await prior(stream, revision);
  }

  const batches = missed.map((event) => changeBatchOf(city, event, twin.apply(event)));
  return { kind: 'replay', batches, through: missed.at(-1)?.position ?? since };
}
