import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ValidationError } from '../core/errors.js';
import type { EventStore, RecordedEvent } from '../eventStore/port.js';
import { type AsOf, asOfKey, isTimeTravel, type ResolvedAsOf } from './asOf.js';
import { cityOfStream, readCityEvents } from './cityEvents.js';
import { PositionIndex } from './positionIndex.js';
import { SnapshotStore } from './snapshotStore.js';

/** How time travel drives a twin: create an empty one, apply an event, snapshot and restore it. */
export interface TwinAdapter<T> {
  create(city: string): T;
  apply(twin: T, event: RecordedEvent): void;
  toSnapshot(twin: T): unknown;
  fromSnapshot(snapshot: unknown): T;
  /** Optional: a copy that can be mutated without touching the original (cheaper than a snapshot restore). */
  clone?(twin: T): T;
  /** Optional: defer index maintenance during a long replay (called around every tail replay). */
  beginBulk?(twin: T): void;
  endBulk?(twin: T): void;
  /** Optional: a validAt view shows the city at that moment (e.g. emission factors valid by then apply). */
  observeTime?(twin: T, ms: number): void;
}

export interface TimeTravelOptions<T> {
  store: EventStore;
  twin: TwinAdapter<T>;
  /** Where the index and snapshots persist (e.g. `<DATA_DIR>/time-travel`); memory only when undefined. */
  dir?: string;
  /** A snapshot every this many events of a city (kept in memory when the twin can be copied). */
  snapshotEvery?: number;
  /** A snapshot file every this many events of a city (a multiple of snapshotEvery; default snapshotEvery). */
  persistEvery?: number;
  /** How many materialised as-of twins to keep for repeated queries. */
  cacheSize?: number;
  /**
   * How many snapshot twins to keep restored in memory (most recently used first), so an as-of query copies
   * one instead of parsing and restoring a snapshot file. Copies share the entities' immutable states.
   */
  memorySnapshots?: number;
  /** The live twin of a city, used for "now" queries when the projection runner provides one. */
  live?: (city: string) => T | undefined;
}

/** A twin as of a point, with the point it was resolved to. */
export interface TwinAsOf<T> {
  twin: T;
  asOf: ResolvedAsOf;
}

/** What one materialisation cost: the snapshot it started from and the events it replayed. */
export interface ReplayStats {
  snapshotPosition: number;
  replayed: number;
}

/**
 * As-of queries over the log. It follows the store (on demand, see `sync`), keeps a position <-> time index
 * per city and writes a snapshot of each city's twin every `snapshotEvery` of its events. An as-of twin is the
 * nearest usable snapshot plus a bounded tail of events read from the store, never the whole log:
 * - recorded-time axis (`position` / `at`): the latest snapshot at or before the position, then the events up
 *   to it (at most `snapshotEvery`);
 * - valid-time axis (`validAt`): a snapshot is usable only if every event in it occurred at or before
 *   validAt; the tail is then exactly the events after that snapshot that occurred at or before validAt
 *   (found in the index, so late-arriving readings are read one by one, not the log between them).
 * Events are always applied in position order, the order in which they were validated.
 */
export class TimeTravel<T> {
  readonly store: EventStore;
  private readonly twin: TwinAdapter<T>;
  private index: PositionIndex;
  private readonly snapshots: SnapshotStore;
  private readonly snapshotEvery: number;
  private readonly persistEvery: number;
  private readonly cacheSize: number;
  private readonly cache = new Map<string, T>();
  private readonly cursors = new Map<string, T>();
  /** Restored snapshot twins, never mutated: `city@position` -> twin, in LRU order. */
  private readonly restored = new Map<string, T>();
  private readonly memorySnapshots: number;
  private readonly live: ((city: string) => T | undefined) | undefined;
  private syncing: Promise<void> = Promise.resolve();
  private checkedReset = false;
  private scanned = 0;
  /** Stats of the last materialisation (for benchmarks and tests). */
  lastReplay: ReplayStats = { snapshotPosition: 0, replayed: 0 };

  constructor(private readonly options: TimeTravelOptions<T>) {
    this.store = options.store;
    this.twin = options.twin;
    this.snapshotEvery = options.snapshotEvery ?? 10_000;
    this.persistEvery = options.persistEvery ?? this.snapshotEvery;
    this.cacheSize = options.cacheSize ?? 4;
    this.memorySnapshots = options.memorySnapshots ?? 16;
    this.live = options.live;
    this.index = PositionIndex.open(options.dir ? join(options.dir, 'index') : undefined);
    this.snapshots = new SnapshotStore(options.dir ? join(options.dir, 'snapshots') : undefined);
  }

  /** Brings the index and snapshots up to the store's head. Serialised: concurrent callers share the work. */
  sync(): Promise<void> {
    this.syncing = this.syncing.catch(() => undefined).then(() => this.doSync());
    return this.syncing;
  }

  /** Resolves an as-of request against the index (after a sync). */
  async resolve(city: string, asOf: AsOf): Promise<ResolvedAsOf> {
    await this.sync();
    const timeline = this.index.timeline(city);
    const resolved: ResolvedAsOf = { position: BigInt(timeline?.lastPosition() ?? 0) };
    if (asOf.position !== undefined) {
      const head = this.scannedThrough();
      if (asOf.position > BigInt(head)) {
        throw new ValidationError(`Position ${asOf.position} is beyond the last position ${head}`, [
          { field: 'position', value: asOf.position.toString(), message: `must be <= ${head}` },
        ]);
      }
      resolved.position = asOf.position;
    }
    if (asOf.at !== undefined) {
      const count = timeline ? timeline.countRecordedThrough(Date.parse(asOf.at)) : 0;
      resolved.position = count > 0 ? BigInt(timeline!.position(count - 1)) : 0n;
      resolved.at = asOf.at;
    }
    if (asOf.validAt !== undefined) resolved.validAt = asOf.validAt;
    return resolved;
  }

  /**
   * The twin of `city` as of `asOf`. Without any time-travel parameter it is the live twin (or this
   * service's own follower). The result may be shared with other callers: read it, never apply to it
   * (use `materialize` for a private copy).
   */
  async twinAsOf(city: string, asOf: AsOf): Promise<TwinAsOf<T>> {
    const resolved = await this.resolve(city, asOf);
    if (!isTimeTravel(asOf)) {
      const live = this.live?.(city);
      if (live) return { twin: live, asOf: resolved };
      return { twin: await this.cursor(city), asOf: resolved };
    }
    const key = asOfKey(city, {
      position: this.canonicalPosition(city, resolved.position),
      validAt: resolved.validAt,
    });
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return { twin: hit, asOf: resolved };
    }
    const twin = await this.build(city, resolved);
    this.cache.set(key, twin);
    while (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    return { twin, asOf: resolved };
  }

  /** A private twin of `city` at a resolved point, which the caller may apply further events to. */
  async materialize(city: string, resolved: ResolvedAsOf): Promise<T> {
    await this.sync();
    return this.build(city, resolved);
  }

  /** The reference answer: the twin rebuilt from the first event, with no snapshot (tests and benchmarks). */
  async replayFromStart(city: string, resolved: ResolvedAsOf): Promise<T> {
    const twin = this.twin.create(city);
    const validMs = resolved.validAt ? Date.parse(resolved.validAt) : Number.POSITIVE_INFINITY;
    for await (const event of readCityEvents(this.store, city, 1n, resolved.position)) {
      if (occurredMs(event) <= validMs) this.twin.apply(twin, event);
    }
    if (resolved.validAt) this.twin.observeTime?.(twin, validMs);
    return twin;
  }

  /** Cities seen in the log. */
  cities(): string[] {
    return this.index.cities();
  }

  /** Snapshot positions of a city (ascending). */
  snapshotPositions(city: string): readonly number[] {
    return this.snapshots.list(city);
  }

  /** The time an event was recorded at `position` in `city`'s timeline, if it is a city event. */
  recordedAtOf(city: string, position: bigint): string | undefined {
    const t = this.index.timeline(city);
    if (!t) return undefined;
    const count = t.countThrough(Number(position));
    if (count === 0 || t.position(count - 1) !== Number(position)) return undefined;
    return new Date(t.recorded(count - 1)).toISOString();
  }

  close(): void {
    this.index.close();
  }

  /** Position of the last city event at or before `position` (the canonical cache key). */
  private canonicalPosition(city: string, position: bigint): bigint {
    const t = this.index.timeline(city);
    if (!t) return 0n;
    const count = t.countThrough(Number(position));
    return count > 0 ? BigInt(t.position(count - 1)) : 0n;
  }

  private async build(city: string, resolved: ResolvedAsOf): Promise<T> {
    const timeline = this.index.timeline(city);
    if (!timeline) return this.twin.create(city);
    const k = timeline.countThrough(Number(resolved.position));
    if (k === 0) {
      this.lastReplay = { snapshotPosition: 0, replayed: 0 };
      const empty = this.twin.create(city);
      if (resolved.validAt) this.twin.observeTime?.(empty, Date.parse(resolved.validAt));
      return empty;
    }
    const validMs = resolved.validAt ? Date.parse(resolved.validAt) : undefined;
    // Events 0..usable-1 may come from a snapshot: all of them are in range and (for validAt) occurred in time.
    const usable = validMs === undefined ? k : Math.min(k, timeline.countOccurredPrefixThrough(validMs));
    const snapPos = usable > 0 ? this.latestSnapshot(city, timeline.position(usable - 1)) : undefined;
    const twin = snapPos !== undefined ? this.fromSnapshotAt(city, snapPos) : this.twin.create(city);
    let i = snapPos !== undefined ? timeline.countThrough(snapPos) : 0;
    let replayed = 0;
    // A bounded tail onto a snapshot copy is applied event by event (the copy shares the snapshot's spatial
    // index and keeps its few changes beside it); a long replay defers the indexes and settles once.
    const bulk = snapPos === undefined || k - i > this.snapshotEvery;
    if (bulk) this.twin.beginBulk?.(twin);
    // The tail: runs of consecutive city events to apply, each read with one call.
    while (i < k) {
      if (validMs !== undefined && timeline.occurred(i) > validMs) {
        i++;
        continue;
      }
      let j = i;
      while (j + 1 < k && (validMs === undefined || timeline.occurred(j + 1) <= validMs)) j++;
      for await (const event of readCityEvents(
        this.store,
        city,
        BigInt(timeline.position(i)),
        BigInt(timeline.position(j)),
      )) {
        this.twin.apply(twin, event);
        replayed++;
      }
      i = j + 1;
    }
    if (bulk) this.twin.endBulk?.(twin);
    if (validMs !== undefined) this.twin.observeTime?.(twin, validMs);
    this.lastReplay = { snapshotPosition: snapPos ?? 0, replayed };
    return twin;
  }

  /** The latest snapshot of `city` at or before `maxPosition`, on disk or kept in memory. */
  private latestSnapshot(city: string, maxPosition: number): number | undefined {
    let best = this.snapshots.latest(city, maxPosition);
    const prefix = `${city}@`;
    for (const key of this.restored.keys()) {
      if (!key.startsWith(prefix)) continue;
      const p = Number(key.slice(prefix.length));
      if (p <= maxPosition && (best === undefined || p > best)) best = p;
    }
    return best;
  }

  /** A mutable twin at snapshot `position`: a copy of the restored one in memory, or restored from the file. */
  private fromSnapshotAt(city: string, position: number): T {
    const key = `${city}@${position}`;
    const clone = this.twin.clone?.bind(this.twin);
    const kept = this.restored.get(key);
    if (kept && clone) {
      this.restored.delete(key);
      this.restored.set(key, kept);
      return clone(kept);
    }
    const twin = this.twin.fromSnapshot(this.snapshots.get(city, position));
    if (clone) this.keepRestored(key, clone(twin));
    return twin;
  }

  private keepRestored(key: string, twin: T): void {
    if (this.memorySnapshots <= 0) return;
    this.restored.delete(key);
    this.restored.set(key, twin);
    while (this.restored.size > this.memorySnapshots)
      this.restored.delete(this.restored.keys().next().value!);
  }

  /** This service's own follower twin of a city, at the end of the index. */
  private async cursor(city: string): Promise<T> {
    let twin = this.cursors.get(city);
    if (!twin) {
      const last = this.index.timeline(city)?.lastPosition() ?? 0;
      twin = await this.build(city, { position: BigInt(last) });
      this.cursors.set(city, twin);
    }
    return twin;
  }

  private async doSync(): Promise<void> {
    const head = await this.store.headPosition();
    if (!this.checkedReset) {
      this.checkedReset = true;
      // The index outlived its log (a new store under the same directory): start again.
      if (this.index.lastPosition > Number(head ?? 0n)) this.reset();
    }
    if (head === undefined || Number(head) <= this.scannedThrough()) return;
    const from = this.scannedThrough();
    const cursors = new Map<string, T>();
    const counts = new Map<string, number>();
    for await (const event of this.store.readAll({ fromPosition: BigInt(from + 1) })) {
      const position = Number(event.position);
      if (position <= from) continue;
      const city = cityOfStream(event.stream);
      if (city === undefined) continue;
      let twin = cursors.get(city);
      if (!twin) {
        twin = await this.cursor(city);
        cursors.set(city, twin);
        counts.set(city, this.index.timeline(city)?.length ?? 0);
      }
      this.twin.apply(twin, event);
      this.index.add(city, position, Date.parse(event.recordedAt), occurredMs(event));
      const count = counts.get(city)! + 1;
      counts.set(city, count);
      if (count % this.snapshotEvery === 0) {
        // Every interval a copy stays in memory; every persistEvery events (always, without copies) a file.
        if (this.twin.clone) this.keepRestored(`${city}@${position}`, this.twin.clone(twin));
        if (!this.twin.clone || count % this.persistEvery === 0) {
          // The index must be on disk before a snapshot that relies on it.
          this.index.flush();
          this.snapshots.put(city, position, this.twin.toSnapshot(twin));
        }
      }
      if (position >= Number(head)) break;
    }
    this.index.flush();
    // Events of no city (scenarios, keys) are not indexed; remember they were seen, so they are read once.
    this.scanned = Math.max(this.scanned, Number(head));
  }

  /** The last position of the log this service has looked at. */
  private scannedThrough(): number {
    return Math.max(this.index.lastPosition, this.scanned);
  }

  private reset(): void {
    const dir = this.options.dir;
    this.index.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    this.index = PositionIndex.open(dir ? join(dir, 'index') : undefined);
    this.snapshots.clear();
    this.scanned = 0;
    this.restored.clear();
    this.cursors.clear();
    this.cache.clear();
  }
}

/** When an event happened in the city (its recorded time when the metadata lacks it). */
export function occurredMs(event: RecordedEvent): number {
  const occurred = (event.metadata as { occurredAt?: unknown }).occurredAt;
  const ms = typeof occurred === 'string' ? Date.parse(occurred) : Number.NaN;
  return Number.isNaN(ms) ? Date.parse(event.recordedAt) : ms;
}
