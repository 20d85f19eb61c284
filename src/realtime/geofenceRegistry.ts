/**
 * The geofences of every city, followed from the event store (`GeofenceDefined` / `GeofenceRemoved` on the
 * city streams): each node keeps its own copy current, so a fence defined through any node is watched by all.
 */
import { UnavailableError } from '../core/errors.js';
import type { GeofenceDefined, GeofenceRemoved } from '../domain/city/events.js';
import { parseStream } from '../domain/streams.js';
import type { EventStore, Position, RecordedEvent, Subscription } from '../eventStore/port.js';
import { type PreparedGeofence, prepareGeofence } from './geofenceTransitions.js';

export const GEOFENCE_EVENT_TYPES = ['GeofenceDefined', 'GeofenceRemoved'] as const;

/** A fence as served by the HTTP API: its definition and where it was recorded. */
export interface GeofenceRecord extends PreparedGeofence {
  city: string;
  definedAt: string;
  definedBy: string;
  position: string;
}

export interface GeofenceRegistry {
  /** Loads every fence and keeps following the store. */
  start(): Promise<void>;
  /** The fences watched in a city. */
  fences(city: string): readonly GeofenceRecord[];
  get(city: string, geofenceId: string): GeofenceRecord | undefined;
  /** Resolves once the registry has applied the store up to `position` (read-your-writes for the API). */
  waitForPosition(position: Position, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Folds one geofence event into a city's fences (pure; shared by the registry and history queries). */
export function applyGeofenceEvent(
  fences: Map<string, GeofenceRecord>,
  city: string,
  event: RecordedEvent,
): void {
  if (event.type === 'GeofenceDefined') {
    const data = event.data as GeofenceDefined['data'];
    const meta = event.metadata as { occurredAt?: string; actor?: string };
    fences.set(data.geofenceId, {
      ...prepareGeofence({
        geofenceId: data.geofenceId,
        name: data.name,
        area: data.area,
        kinds: data.kinds,
      }),
      city,
      definedAt: meta.occurredAt ?? event.recordedAt,
      definedBy: meta.actor ?? 'unknown',
      position: event.position.toString(),
    });
  } else if (event.type === 'GeofenceRemoved') {
    fences.delete((event.data as GeofenceRemoved['data']).geofenceId);
  }
}

/** @example const fences = createGeofenceRegistry(store); await fences.start(); fences.fences('suceava') */
export function createGeofenceRegistry(store: EventStore): GeofenceRegistry {
  const byCity = new Map<string, Map<string, GeofenceRecord>>();
  const lists = new Map<string, GeofenceRecord[]>();
  let position: Position = 0n;
  let subscription: Subscription | undefined;
  let pump: Promise<void> | undefined;
  const waiters = new Set<{ at: Position; resolve: () => void }>();

  const advance = (p: Position | undefined) => {
    if (p === undefined || p <= position) return;
    position = p;
    for (const w of waiters) {
      if (w.at <= position) {
        waiters.delete(w);
        w.resolve();
      }
    }
  };

  return {
    async start() {
      let markCaughtUp!: () => void;
      const caughtUp = new Promise<void>((resolve) => {
        markCaughtUp = resolve;
      });
      subscription = store.subscribeToAll({
        from: 'start',
        filter: { eventTypes: [...GEOFENCE_EVENT_TYPES] },
      });
      const sub = subscription;
      pump = (async () => {
        for await (const message of sub) {
          if (message.type === 'caughtUp') {
            advance(message.position);
            markCaughtUp();
            continue;
          }
          const parsed = parseStream(message.event.stream);
          if (parsed.kind === 'city') {
            let fences = byCity.get(parsed.city);
            if (!fences) {
              fences = new Map();
              byCity.set(parsed.city, fences);
            }
            applyGeofenceEvent(fences, parsed.city, message.event);
            lists.set(parsed.city, [...fences.values()]);
          }
          advance(message.event.position);
        }
        markCaughtUp();
      })();
      await caughtUp;
    },
    fences(city) {
      return lists.get(city) ?? [];
    },
    get(city, geofenceId) {
      return byCity.get(city)?.get(geofenceId);
    },
    waitForPosition(at, timeoutMs = 10_000) {
      if (at <= position) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const waiter = {
          at,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new UnavailableError(`Geofences have not caught up with position ${at} yet`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    async close() {
      await subscription?.close();
      await pump;
    },
  };
}
