import { parseStream } from '../domain/streams.js';
import type { EventStore, RecordedEvent } from '../eventStore/port.js';
import type { ScenarioCreated, ScenarioMode } from './events.js';

/** A scenario as listed: its definition from ScenarioCreated and its lifecycle. */
export interface ScenarioInfo {
  id: string;
  city: string;
  name: string;
  description: string;
  mode: ScenarioMode;
  fork: { position: string; at?: string };
  excludeEvents: string[];
  status: 'active' | 'archived';
  createdAt: string;
  createdBy: string;
  archivedAt?: string;
  archivedBy?: string;
}

/**
 * Every scenario, from the lifecycle events of the `scenario-*` streams. It follows the log on demand (one
 * filtered read from where it stopped), so a scenario created by another process (the CLI) is found too.
 */
export class ScenarioRegistry {
  private readonly byId = new Map<string, ScenarioInfo>();
  private lastPosition = 0n;
  private syncing: Promise<void> = Promise.resolve();

  constructor(private readonly store: EventStore) {}

  /** Reads lifecycle events recorded since the last sync. */
  sync(): Promise<void> {
    this.syncing = this.syncing
      .catch(() => undefined)
      .then(async () => {
        const head = await this.store.headPosition();
        if (head === undefined || head <= this.lastPosition) return;
        const from = this.lastPosition + 1n;
        for await (const event of this.store.readAll({
          fromPosition: from,
          filter: { streamPrefixes: ['scenario-'], eventTypes: ['ScenarioCreated', 'ScenarioArchived'] },
        })) {
          if (event.position > head) break;
          this.record(event);
        }
        // Filtered reads skip what does not match; the next sync starts after everything seen here.
        this.lastPosition = head;
      });
    return this.syncing;
  }

  /** Takes in a lifecycle event just appended by this process. */
  record(event: RecordedEvent): void {
    const parsed = parseStream(event.stream);
    if (parsed.kind !== 'scenario') return;
    const meta = event.metadata as { actor?: string; occurredAt?: string };
    if (event.type === 'ScenarioCreated') {
      const d = event.data as ScenarioCreated;
      this.byId.set(parsed.scenarioId, {
        id: parsed.scenarioId,
        city: d.city,
        name: d.name,
        description: d.description,
        mode: d.mode,
        fork: d.fork,
        excludeEvents: d.excludeEvents,
        status: 'active',
        createdAt: event.recordedAt,
        createdBy: meta.actor ?? 'unknown',
      });
    } else if (event.type === 'ScenarioArchived') {
      const info = this.byId.get(parsed.scenarioId);
      if (info) {
        info.status = 'archived';
        info.archivedAt = event.recordedAt;
        info.archivedBy = meta.actor ?? 'unknown';
      }
    }
  }

  async get(id: string): Promise<ScenarioInfo | undefined> {
    await this.sync();
    return this.byId.get(id);
  }

  async list(filter: { city?: string; status?: 'active' | 'archived' } = {}): Promise<ScenarioInfo[]> {
    await this.sync();
    return [...this.byId.values()]
      .filter(
        (s) => (!filter.city || s.city === filter.city) && (!filter.status || s.status === filter.status),
      )
      .sort((a, b) =>
        a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1,
      );
  }
}
