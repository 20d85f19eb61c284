/**
 * A scenario's live feed: the scenario's own twin, followed from the event store the way the scenario's HTTP
 * routes see it, so `/live` can serve a scenario like a city. The city's live twin never sees scenario events
 * (they live in `scenario-<id>` streams, which the projection runner skips), so each scenario with
 * subscribers gets a private twin built at the store's head (the city at the fork, then what the scenario
 * sees) and a store subscription from that head on:
 * - its overlay events (the scenario's own stream) always;
 * - the real city's later events only when the scenario is `tracking` (minus its `excludeEvents`), as the
 *   scenario layer routes show them; a `frozen` scenario sees nothing of the city after its fork.
 * Each event the scenario sees becomes one change batch stamped with the event's global position, in order.
 */
import { UnavailableError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { scenarioStream } from '../domain/streams.js';
import type { EventStore, RecordedEvent, Subscription } from '../eventStore/port.js';
import { applyTargetOf } from '../scenarios/overlay.js';
import type { ScenarioInfo } from '../scenarios/registry.js';
import type { ScenarioService } from '../scenarios/service.js';
import { cityOfStream, cityStreamPrefixes } from '../timeTravel/cityEvents.js';
import {
  changeBatchOf,
  type LayerName,
  type TwinChange,
  type TwinChangeBatch,
  type TwinFeature,
} from '../twin/changes.js';
import type { CityTwin } from '../twin/cityTwin.js';
import type { ResumePlan } from './resume.js';

/** What the gateway needs of the scenario service. */
export interface LiveScenarios {
  /** The scenario, or undefined when there is none with that id. */
  info(id: string): Promise<ScenarioInfo | undefined>;
  /** A private twin of the scenario at `position` (at or after its fork). */
  twinAt(id: string, position: bigint): Promise<CityTwin>;
}

/** The scenario service as the gateway's scenario source. */
export function liveScenariosOf(service: ScenarioService): LiveScenarios {
  return {
    info: async (id) => ((await service.cityOf(id)) === undefined ? undefined : service.get(id)),
    twinAt: (id, position) => service.twinAt(id, position),
  };
}

const PREFIX = 'scenario:';

/** The gateway's feed key of a scenario (a city slug never contains `:`). */
export const scenarioFeedKey = (id: string): string => `${PREFIX}${id}`;
export const isScenarioFeedKey = (key: string): boolean => key.startsWith(PREFIX);

/** Which events of the log a scenario sees after its fork, and how each lands in its twin. */
export interface ScenarioView {
  /** Store-side pre-filter. */
  prefixes: string[];
  /** Whether the scenario sees the event. */
  sees(event: RecordedEvent): boolean;
  /** Applies an event the scenario sees to its twin: what it changed. */
  apply(twin: CityTwin, event: RecordedEvent): TwinChange[];
}

export function scenarioViewOf(info: ScenarioInfo): ScenarioView {
  const own = scenarioStream(info.id);
  const excluded = new Set(info.excludeEvents);
  const tracking = info.mode === 'tracking';
  return {
    prefixes: tracking ? [...cityStreamPrefixes(info.city), own] : [own],
    sees: (event) =>
      event.stream === own ||
      (tracking && cityOfStream(event.stream) === info.city && !excluded.has(event.id)),
    apply(twin, event) {
      if (event.stream !== own) return twin.apply(event);
      // Lifecycle events (archived) change nothing but are still positions of the scenario.
      const target = applyTargetOf(event);
      return target ? twin.apply(event, target) : [];
    },
  };
}

/**
 * The scenario's changes after `since` read from the store: the scenario's twin as it was at `since`, then
 * every event it saw since, applied in order. A `since` before the fork (never a position a scenario
 * subscription was given) or more than `maxEvents` missed events: `too-large` (a fresh snapshot).
 */
export async function planScenarioResume(options: {
  store: EventStore;
  scenarios: LiveScenarios;
  info: ScenarioInfo;
  key: string;
  since: bigint;
  maxEvents: number;
}): Promise<ResumePlan> {
  const { store, info, since, maxEvents } = options;
  if (since < BigInt(info.fork.position)) return { kind: 'too-large', missed: 0 };
  const view = scenarioViewOf(info);
  const missed: RecordedEvent[] = [];
  for await (const event of store.readAll({
    fromPosition: since + 1n,
    filter: { streamPrefixes: view.prefixes },
  })) {
    if (!view.sees(event)) continue;
    missed.push(event);
    if (missed.length > maxEvents) return { kind: 'too-large', missed: missed.length };
  }
  const twin = await options.scenarios.twinAt(info.id, since);
  const batches = missed.map((event) => changeBatchOf(options.key, event, view.apply(twin, event)));
  return { kind: 'replay', batches, through: missed.at(-1)?.position ?? since };
}

/** A scenario's followed twin, as the gateway reads it. */
export interface ScenarioFeed {
  readonly key: string;
  readonly info: ScenarioInfo;
  /** The last position the feed delivered (or where it started). */
  readonly position: bigint;
  features(layer: LayerName): Iterable<TwinFeature>;
  waitForPosition(position: bigint, timeoutMs: number): Promise<void>;
  planResume(since: bigint, maxEvents: number): Promise<ResumePlan>;
  close(): Promise<void>;
}

/**
 * Opens a scenario's feed: builds its twin at the store's head and follows the store from there, calling
 * `onBatch` synchronously for every event the scenario sees, in position order.
 */
export async function openScenarioFeed(options: {
  store: EventStore;
  scenarios: LiveScenarios;
  info: ScenarioInfo;
  key: string;
  onBatch(batch: TwinChangeBatch): void;
  logger?: Logger;
}): Promise<ScenarioFeed> {
  const { store, info, key } = options;
  const fork = BigInt(info.fork.position);
  const head = (await store.headPosition()) ?? 0n;
  let position = head > fork ? head : fork;
  const twin = await options.scenarios.twinAt(info.id, position);
  const view = scenarioViewOf(info);
  const waiters = new Set<{ position: bigint; resolve(): void }>();
  const subscription: Subscription = store.subscribeToAll({
    from: position,
    filter: { streamPrefixes: view.prefixes },
  });
  let closed = false;

  const loop = (async () => {
    for await (const message of subscription) {
      if (closed) break;
      if (message.type !== 'event') continue;
      if (!view.sees(message.event)) continue;
      const changes = view.apply(twin, message.event);
      position = message.event.position;
      options.onBatch(changeBatchOf(key, message.event, changes));
      for (const waiter of waiters) {
        if (waiter.position <= position) {
          waiters.delete(waiter);
          waiter.resolve();
        }
      }
    }
  })().catch((err: unknown) => {
    options.logger?.error({ err, scenario: info.id }, 'live scenario feed stopped');
  });

  return {
    key,
    info,
    get position() {
      return position;
    },
    features: (layer) => twin.features(layer),
    waitForPosition(wanted, timeoutMs) {
      if (wanted <= position) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const waiter = {
          position: wanted,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new UnavailableError(`The scenario feed ${info.id} did not reach position ${wanted}`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    planResume: (since, maxEvents) =>
      planScenarioResume({ store, scenarios: options.scenarios, info, key, since, maxEvents }),
    async close() {
      closed = true;
      await subscription.close();
      await loop;
    },
  };
}
