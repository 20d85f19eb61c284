import { GENESIS_HASH } from '../audit/hashChain.js';
import type { StreamKindOfEvent } from '../domain/events.js';
import { parseStream, scenarioStream } from '../domain/streams.js';
import { evolveState, initialState } from '../domain/writeState.js';
import type { EventStore, RecordedEvent } from '../eventStore/port.js';
import type { ApplyTarget } from '../twin/cityTwin.js';
import { type LoadedStream, rememberId, type StateLoader } from '../write/stateLoader.js';
import { isLifecycleType } from './events.js';
import type { ScenarioInfo } from './registry.js';

/** The real stream an overlay event is about (its `metadata.target`). */
export function targetOf(event: RecordedEvent): string | undefined {
  const target = (event.metadata as { target?: unknown }).target;
  return typeof target === 'string' ? target : undefined;
}

/** Where an overlay event lands in a twin. */
export function applyTargetOf(event: RecordedEvent): ApplyTarget | undefined {
  const target = targetOf(event);
  if (!target) return undefined;
  const parsed = parseStream(target);
  if (parsed.kind === 'city') return { kind: 'city' };
  if (parsed.kind === 'building' || parsed.kind === 'mobility' || parsed.kind === 'grid') {
    return { kind: parsed.kind, entityId: parsed.entityId };
  }
  return undefined;
}

/** The events of one scenario's stream, read once and then incrementally. */
export class ScenarioStream {
  readonly stream: string;
  readonly events: RecordedEvent[] = [];

  constructor(
    private readonly store: EventStore,
    scenarioId: string,
  ) {
    this.stream = scenarioStream(scenarioId);
  }

  /** Reads what was appended since the last refresh. */
  async refresh(): Promise<void> {
    const from = this.events.length;
    for await (const event of this.store.readStream(this.stream, { fromRevision: from }))
      this.events.push(event);
  }

  /** The overlay (domain) events, without the lifecycle ones. */
  overlay(): RecordedEvent[] {
    return this.events.filter((e) => !isLifecycleType(e.type));
  }

  /** Revision and hash of the stream's last event, where the next append chains from. */
  last(): { revision: number; hash: string } | undefined {
    const e = this.events[this.events.length - 1];
    if (!e) return undefined;
    const hash = (e.metadata as { hash?: unknown }).hash;
    return { revision: e.revision, hash: typeof hash === 'string' ? hash : GENESIS_HASH };
  }
}

/**
 * The write side's view of an entity inside a scenario: the real stream's events the scenario sees (up to
 * the fork when frozen; all but the excluded ones when tracking) merged by position with the scenario's
 * overlay events about that stream, folded by the ordinary evolve. `ids` are the overlay's own ids, so a
 * retried scenario event is recognised as already stored.
 */
export function createScenarioStateLoader(
  store: EventStore,
  scenario: ScenarioInfo,
  overlay: ScenarioStream,
): StateLoader {
  const fork = BigInt(scenario.fork.position);
  const excluded = new Set(scenario.excludeEvents);
  return {
    async load(stream: string, kind: StreamKindOfEvent): Promise<LoadedStream> {
      const events: RecordedEvent[] = [];
      for await (const event of store.readStream(stream)) {
        if (scenario.mode === 'frozen' && event.position > fork) break;
        if (!excluded.has(event.id)) events.push(event);
      }
      const own = overlay.overlay().filter((e) => targetOf(e) === stream);
      const merged = [...events, ...own].sort((a, b) =>
        a.position < b.position ? -1 : a.position > b.position ? 1 : 0,
      );
      const loaded: LoadedStream = {
        stream,
        revision: -1,
        lastHash: GENESIS_HASH,
        state: initialState(kind),
        ids: new Map(),
      };
      for (const event of merged) loaded.state = evolveState(loaded.state, event);
      for (const event of own) {
        rememberId(loaded, event.id, {
          type: event.type,
          revision: event.revision,
          position: event.position,
        });
      }
      return loaded;
    },
  };
}
