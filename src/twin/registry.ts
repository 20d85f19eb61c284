import { parseStream } from '../domain/streams.js';
import { changeBatchOf, type TwinChangeBatch } from './changes.js';
import {
  type ApplyTarget,
  type CityTwin,
  CityTwin as CityTwinClass,
  type CityTwinSnapshot,
  createCityTwin,
  type TwinEvent,
} from './cityTwin.js';

export const TWINS_SNAPSHOT_VERSION = 1;

/** All city twins at one global position: what a snapshot file holds. */
export interface TwinsSnapshot {
  version: typeof TWINS_SNAPSHOT_VERSION;
  /** Last applied global position (decimal string), null when nothing was applied. */
  position: string | null;
  cities: CityTwinSnapshot[];
}

/** The city of an entity or city stream; undefined for scenario and foreign streams. */
export function cityOfStream(stream: string): string | undefined {
  const p = parseStream(stream);
  return p.kind === 'city' || p.kind === 'building' || p.kind === 'mobility' || p.kind === 'grid'
    ? p.city
    : undefined;
}

/**
 * Where a stream's events go: the target itself, carrying its stream and city, so a replay follows one
 * object per event from the stream's slot to the entity's record (not a route and then its target).
 */
type Route = ApplyTarget & { stream: string; city: string };

/** The twins of every city seen in the feed; a city's twin is made on its first event. */
export class TwinRegistry {
  private readonly twins = new Map<string, CityTwin>();
  /** Global position of the last event applied (to any twin, or skipped as not a city's). */
  position: bigint | undefined;
  private bulk = false;
  private readonly routes = new Map<string, Route | null>();
  /** The twin `apply` found last, and its city (see apply); forgotten when the twins are replaced. */
  private lastCity: string | undefined;
  private lastTwin: CityTwin | undefined;
  /** The same routes by the store's stream number, when events carry one (see RecordedEvent.streamNumber). */
  private readonly routesByNumber: Array<Route | undefined> = [];

  /**
   * Applies an event to its city's twin; scenario and foreign streams only advance the position. With
   * `withChanges` false nothing is reported (and no features are made): the fast path of a replay.
   */
  apply(
    event: TwinEvent & { id: string; position: bigint; streamNumber?: number },
    withChanges = true,
  ): TwinChangeBatch | undefined {
    this.position = event.position;
    const route = this.routeOf(event.stream, event.streamNumber);
    if (route === null) return undefined;
    const city = route.city;
    // Consecutive events are nearly always of one city: the last twin found, compared by its city's name
    // (the route's own string), instead of a map lookup per event (~2 % of a rebuild's thread).
    let twin = city === this.lastCity ? this.lastTwin : this.twins.get(city);
    if (!twin) {
      twin = createCityTwin(city);
      if (this.bulk) twin.beginBulk();
      this.twins.set(city, twin);
    }
    this.lastCity = city;
    this.lastTwin = twin;
    if (!withChanges) {
      twin.applySilently(event, route);
      return undefined;
    }
    return changeBatchOf(city, event, twin.apply(event, route));
  }

  /**
   * Where a stream's events go, parsed once per stream: a replay then makes no parse objects per event, and
   * every event of an entity carries the same id string (its hash is computed once for the layer maps).
   * Bounded by the number of streams, which the twins hold an entity for anyway. A target also holds the
   * twin's record of its entity (see CityTwin.recordOf).
   */
  private routeOf(stream: string, streamNumber: number | undefined): Route | null {
    // By the stream's number first, an array slot instead of hashing the name in a map of every stream (a
    // 1M-event rebuild spent ~0.9 s in that lookup). Numbers of two stores can coincide: the name must match
    // (the same string object, from the same store, compares at once).
    if (streamNumber !== undefined) {
      const numbered = this.routesByNumber[streamNumber];
      if (numbered !== undefined && numbered.stream === stream) return numbered;
    }
    let route = this.routes.get(stream);
    if (route === undefined) {
      const parsed = parseStream(stream);
      route =
        parsed.kind === 'scenario' || parsed.kind === 'other'
          ? null
          : parsed.kind === 'city'
            ? { kind: 'city', stream, city: parsed.city }
            : { kind: parsed.kind, entityId: parsed.entityId, record: undefined, stream, city: parsed.city };
      this.routes.set(stream, route);
    }
    if (route !== null && streamNumber !== undefined && Number.isInteger(streamNumber) && streamNumber >= 0) {
      this.routesByNumber[streamNumber] = route;
    }
    return route;
  }

  get(city: string): CityTwin | undefined {
    return this.twins.get(city);
  }

  /** City ids, sorted. */
  cities(): string[] {
    return [...this.twins.keys()].sort();
  }

  /** Defers index and coverage maintenance in every twin (a long catch-up); see CityTwin.beginBulk. */
  beginBulk(): void {
    this.bulk = true;
    for (const t of this.twins.values()) t.beginBulk();
  }

  endBulk(): void {
    this.bulk = false;
    for (const t of this.twins.values()) t.endBulk();
  }

  toSnapshot(): TwinsSnapshot {
    return {
      version: TWINS_SNAPSHOT_VERSION,
      position: this.position === undefined ? null : this.position.toString(),
      cities: [...this.twins.values()].map((t) => t.toSnapshot()),
    };
  }

  static fromSnapshot(s: TwinsSnapshot): TwinRegistry {
    const registry = new TwinRegistry();
    registry.restore(s);
    return registry;
  }

  /** Replaces every twin with the snapshot's, in place (holders of this registry see the restored twins). */
  restore(s: TwinsSnapshot): void {
    if (s.version !== TWINS_SNAPSHOT_VERSION) {
      throw new Error(`Unsupported twin snapshot version ${String(s.version)}`);
    }
    this.twins.clear();
    this.lastCity = undefined;
    this.lastTwin = undefined;
    this.position = s.position === null ? undefined : BigInt(s.position);
    for (const c of s.cities) {
      const twin = CityTwinClass.fromSnapshot(c);
      if (this.bulk) twin.beginBulk();
      this.twins.set(c.city, twin);
    }
  }

  /** An independent copy of every twin (see CityTwin.clone). */
  clone(): TwinRegistry {
    const copy = new TwinRegistry();
    copy.position = this.position;
    for (const [city, t] of this.twins) copy.twins.set(city, t.clone());
    return copy;
  }
}

/** An empty registry. */
export function createTwinRegistry(): TwinRegistry {
  return new TwinRegistry();
}
