import { EventEmitter } from 'node:events';
import { UnavailableError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import type { EventStore, Subscription } from '../eventStore/port.js';
import type { TwinChangeBatch } from './changes.js';
import { TWIN_METADATA_KEYS } from './cityTwin.js';
import { createTwinRegistry, type TwinRegistry } from './registry.js';
import { createMemorySnapshotStore, type SnapshotStore } from './snapshotStore.js';

export interface ProjectionRunnerOptions {
  store: EventStore;
  /** The twins to keep current; a new registry by default. Restored in place from the snapshot. */
  twins?: TwinRegistry;
  /** Where snapshots go; in memory by default. */
  snapshots?: SnapshotStore;
  /** Snapshot after this many applied events (default 100,000) ... */
  snapshotEveryEvents?: number;
  /** ... or after this many ms with at least one applied event (default 30 s). */
  snapshotEveryMs?: number;
  /** Wait before re-subscribing after the store failed (default 1 s). */
  retryDelayMs?: number;
  logger?: Logger;
}

type ChangeListener = (batch: TwinChangeBatch) => void;

/**
 * Keeps the twins current: loads the latest snapshot, subscribes to the store's global feed after its
 * position, applies each event, snapshots every N events / T ms, and tells listeners what changed.
 * The historical part is replayed in bulk mode (indexes and coverage rebuilt once when caught up).
 */
export class ProjectionRunner {
  readonly twins: TwinRegistry;
  private readonly store: EventStore;
  private readonly snapshots: SnapshotStore;
  private readonly everyEvents: number;
  private readonly everyMs: number;
  private readonly retryDelayMs: number;
  private readonly logger: Logger;
  private readonly emitter = new EventEmitter();
  private subscription: Subscription | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private sinceSnapshot = 0;
  private lastSnapshotAt = Date.now();
  private lastError: unknown;
  /** True once the historical part of the feed has been applied. */
  caughtUp = false;

  constructor(options: ProjectionRunnerOptions) {
    this.store = options.store;
    this.twins = options.twins ?? createTwinRegistry();
    this.snapshots = options.snapshots ?? createMemorySnapshotStore();
    this.everyEvents = options.snapshotEveryEvents ?? 100_000;
    this.everyMs = options.snapshotEveryMs ?? 30_000;
    this.retryDelayMs = options.retryDelayMs ?? 1_000;
    this.logger = options.logger ?? silentLogger();
    this.emitter.setMaxListeners(0);
  }

  /** Global position of the last applied event. */
  get position(): bigint | undefined {
    return this.twins.position;
  }

  /** Loads the latest snapshot and starts following the store (returns once subscribed, not caught up). */
  async start(): Promise<void> {
    if (this.loop) return;
    let snapshot = await this.snapshots.load();
    const head = await this.store.headPosition();
    if (snapshot?.position != null && (head === undefined || BigInt(snapshot.position) > head)) {
      // The snapshot is ahead of the log (the store was replaced or reset): it cannot be trusted.
      this.logger.warn(
        { snapshot: snapshot.position, head: head?.toString() ?? null },
        'twin snapshot ignored',
      );
      snapshot = undefined;
    }
    if (snapshot) {
      this.twins.restore(snapshot);
      this.logger.info(
        { position: snapshot.position, cities: snapshot.cities.length },
        'twin snapshot loaded',
      );
    }
    this.loop = this.follow();
  }

  private async follow(): Promise<void> {
    while (!this.stopping) {
      try {
        if (!this.caughtUp) this.twins.beginBulk();
        const from = this.twins.position ?? 'start';
        this.subscription = this.store.subscribeToAll({ from, metadataKeys: TWIN_METADATA_KEYS });
        for await (const message of this.subscription) {
          if (message.type === 'caughtUp') {
            this.twins.endBulk();
            if (!this.caughtUp) {
              this.caughtUp = true;
              this.logger.info({ position: this.position?.toString() ?? null }, 'twin caught up');
              this.emitter.emit('caughtUp');
              // The first snapshot after a long catch-up serialises the whole twin: let those waiting for
              // readiness run first (a macrotask later), so `ready` does not wait for the snapshot.
              await new Promise<void>((resolve) => setImmediate(resolve));
              if (!this.stopping && this.sinceSnapshot > 0) await this.snapshot();
            }
            continue;
          }
          const event = message.event;
          if (this.twins.position !== undefined && event.position <= this.twins.position) continue;
          // The history replayed before the first catch-up is applied silently (in place, no features made):
          // listeners take the twin's state once it has caught up (see onChange) and hear what follows.
          const batch = this.twins.apply(event, this.caughtUp && this.emitter.listenerCount('change') > 0);
          this.sinceSnapshot++;
          if (batch) {
            for (const listener of this.emitter.listeners('change') as ChangeListener[]) {
              try {
                listener(batch);
              } catch (err) {
                this.logger.error({ err }, 'twin change listener failed');
              }
            }
          }
          this.emitter.emit('position', event.position);
          if (
            this.sinceSnapshot >= this.everyEvents ||
            (this.caughtUp && Date.now() - this.lastSnapshotAt >= this.everyMs)
          ) {
            await this.snapshot();
          }
        }
        if (this.stopping) return;
        throw new Error('the store subscription ended');
      } catch (err) {
        if (this.stopping) return;
        this.lastError = err;
        this.logger.error({ err }, 'twin projection failed; re-subscribing');
        await this.subscription?.close().catch(() => {});
        await new Promise((r) => setTimeout(r, this.retryDelayMs));
      }
    }
  }

  /** Persists all twins at the current position now. */
  async snapshot(): Promise<void> {
    const snapshot = this.twins.toSnapshot();
    await this.snapshots.save(snapshot);
    this.sinceSnapshot = 0;
    this.lastSnapshotAt = Date.now();
    this.logger.debug({ position: snapshot.position }, 'twin snapshot saved');
  }

  /**
   * Calls `listener` with the changes of every event applied after the first catch-up, in order; returns the
   * unsubscribe function. The history replayed at start is not reported event by event: a consumer waits for
   * `waitUntilCaughtUp()`, takes the twin's state, then follows the changes (as the live gateway does).
   */
  onChange(listener: ChangeListener): () => void {
    this.emitter.on('change', listener);
    return () => this.emitter.off('change', listener);
  }

  /** Throws UnavailableError unless caught up (for GET /ready). */
  ready(): void {
    if (!this.caughtUp) {
      throw new UnavailableError(
        this.lastError
          ? `Twin projection failing: ${String(this.lastError)}`
          : 'Twin projection is catching up',
      );
    }
  }

  /** Resolves once caught up; rejects with UnavailableError after `timeoutMs`. */
  waitUntilCaughtUp(timeoutMs = 60_000): Promise<void> {
    if (this.caughtUp) return Promise.resolve();
    return this.waitFor('caughtUp', () => this.caughtUp, timeoutMs, 'catching up');
  }

  /** Resolves once the twins have applied `position` (or later); rejects with UnavailableError on timeout. */
  waitForPosition(position: bigint, timeoutMs = 10_000): Promise<void> {
    const reached = () => this.twins.position !== undefined && this.twins.position >= position;
    if (reached()) return Promise.resolve();
    return this.waitFor('position', reached, timeoutMs, `reaching position ${position}`);
  }

  private waitFor(event: string, done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.emitter.off(event, check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.emitter.off(event, check);
        reject(new UnavailableError(`Twin projection timed out ${what}`));
      }, timeoutMs);
      this.emitter.on(event, check);
    });
  }

  /** Stops following the store and writes a final snapshot. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.subscription?.close();
    await this.loop;
    if (this.sinceSnapshot > 0) await this.snapshot();
    this.emitter.removeAllListeners();
  }
}

/** A runner over a store; call `start()`. */
export function createProjectionRunner(options: ProjectionRunnerOptions): ProjectionRunner {
  return new ProjectionRunner(options);
}
