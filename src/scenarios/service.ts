import { z } from 'zod';
import { sealEvents } from '../audit/hashChain.js';
import type { Clock } from '../core/clock.js';
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { CITY_ID_PATTERN, scenarioStream } from '../domain/streams.js';
import type { EventStore, NewEvent, RecordedEvent } from '../eventStore/port.js';
import { validationErrorFromZod } from '../http/problem.js';
import { type AsOf, isTimeTravel } from '../timeTravel/asOf.js';
import { readCityEvents } from '../timeTravel/cityEvents.js';
import type { TimeTravel } from '../timeTravel/timeTravel.js';
import type { LayerName } from '../twin/changes.js';
import type { CityTwin } from '../twin/cityTwin.js';
import { planBatch } from '../write/plan.js';
import type { ItemResult } from '../write/types.js';
import { compareKpis, type DeltaTree, diffLayers, type LayerDiff } from './compare.js';
import { SCENARIO_MODES, type ScenarioCreated } from './events.js';
import { expandOperation, type Operation, parseOperation } from './operations.js';
import { applyTargetOf, createScenarioStateLoader, ScenarioStream } from './overlay.js';
import { type ScenarioInfo, ScenarioRegistry } from './registry.js';

/** Who does something to a scenario, and from where. */
export interface ScenarioActor {
  actor: string;
  source: string;
  correlationId: string;
  reason?: string;
}

export const createScenarioSchema = z.strictObject({
  city: z.string().regex(CITY_ID_PATTERN, 'must be a city id'),
  name: z.string().trim().min(1).max(200),
  description: z.string().max(5_000).default(''),
  fork: z.union([
    z.strictObject({ position: z.union([z.string().regex(/^\d{1,19}$/), z.number().int().nonnegative()]) }),
    z.strictObject({ at: z.iso.datetime({ offset: true }) }),
  ]),
  mode: z.enum(SCENARIO_MODES),
  excludeEvents: z.array(z.uuid()).max(1_000).default([]),
});
export type CreateScenarioRequest = z.input<typeof createScenarioSchema>;

/** The result of appending to a scenario: one entry per proposed item. */
export interface ScenarioAppendResult {
  results: ItemResult[];
  appended: number;
  position: string | undefined;
}

interface CachedTwin {
  twin: CityTwin;
  /** Last position of the log (real and overlay) folded into the twin. */
  position: bigint;
  busy: Promise<unknown>;
}

/**
 * What-if scenarios: a fork of a city at a position, plus an overlay of the scenario's own events kept in
 * its `scenario-<id>` stream. Events are validated with the ordinary schemas and rules against the
 * scenario's state, sealed into the scenario stream's hash chain and never written to a real stream.
 */
export class ScenarioService {
  readonly registry: ScenarioRegistry;
  private readonly streams = new Map<string, ScenarioStream>();
  private readonly twins = new Map<string, CachedTwin>();

  constructor(
    private readonly deps: {
      store: EventStore;
      clock: Clock;
      timeTravel: TimeTravel<CityTwin>;
      /** How many scenario twins to keep in memory. */
      cacheSize?: number;
    },
  ) {
    this.registry = new ScenarioRegistry(deps.store);
  }

  /** Forks a scenario; appends ScenarioCreated to its new stream. */
  async create(input: unknown, who: ScenarioActor): Promise<ScenarioInfo> {
    const parsed = createScenarioSchema.safeParse(input);
    if (!parsed.success) throw validationErrorFromZod(parsed.error, { input, what: 'Invalid scenario' });
    const req = parsed.data;
    const { timeTravel } = this.deps;
    await timeTravel.sync();
    if (!timeTravel.cities().includes(req.city)) throw new NotFoundError(`No city ${req.city}`);
    const asOf =
      'at' in req.fork
        ? { at: new Date(req.fork.at).toISOString() }
        : { position: BigInt(req.fork.position) };
    const resolved = await timeTravel.resolve(req.city, asOf).catch((err: unknown) => {
      if (err instanceof ValidationError) {
        throw new ValidationError(
          err.message,
          err.issues.map((i) => ({ ...i, field: `fork.${i.field}` })),
        );
      }
      throw err;
    });
    if (req.excludeEvents.length > 0)
      await this.checkExcluded(req.city, req.mode, resolved.position, req.excludeEvents);
    const id = newId();
    const data: ScenarioCreated = {
      scenarioId: id,
      city: req.city,
      name: req.name,
      description: req.description,
      mode: req.mode,
      fork: { position: resolved.position.toString(), ...(resolved.at ? { at: resolved.at } : {}) },
      excludeEvents: req.excludeEvents,
    };
    const event = await this.appendLifecycle(id, 'ScenarioCreated', data, who, 'no_stream');
    this.registry.record(event);
    return (await this.registry.get(id))!;
  }

  /** The scenario, or a NotFoundError. */
  async get(id: string): Promise<ScenarioInfo> {
    const info = z.uuid().safeParse(id).success ? await this.registry.get(id) : undefined;
    if (!info) throw new NotFoundError(`No scenario ${id}`);
    return info;
  }

  /** The city a scenario was forked from (for access control), or undefined. */
  async cityOf(id: string): Promise<string | undefined> {
    if (!z.uuid().safeParse(id).success) return undefined;
    return (await this.registry.get(id))?.city;
  }

  list(filter: { city?: string; status?: 'active' | 'archived' } = {}): Promise<ScenarioInfo[]> {
    return this.registry.list(filter);
  }

  /** Archives a scenario: it stays readable, and takes no more events. */
  async archive(id: string, who: ScenarioActor): Promise<ScenarioInfo> {
    const info = await this.requireActive(id);
    const stream = await this.streamOf(id);
    const event = await this.appendLifecycle(
      id,
      'ScenarioArchived',
      who.reason ? { reason: who.reason } : {},
      who,
      stream.last()!.revision,
    );
    this.registry.record(event);
    return info;
  }

  /** Overlay events of a scenario (oldest first). */
  async events(id: string): Promise<RecordedEvent[]> {
    await this.get(id);
    return (await this.streamOf(id)).events;
  }

  /**
   * Appends domain events (the ingest item format: type, entityId, data, ...) to the scenario: parsed with
   * the same schemas, decided by the same rules against the scenario's state, sealed and appended to
   * `scenario-<id>` only, all or nothing.
   */
  async append(
    id: string,
    items: readonly unknown[],
    who: ScenarioActor & { causationId?: string },
  ): Promise<ScenarioAppendResult> {
    const info = await this.requireActive(id);
    const stream = await this.streamOf(id);
    await stream.refresh();
    const now = this.deps.clock.now();
    const loader = createScenarioStateLoader(this.deps.store, info, stream);
    const plan = await planBatch(info.city, items, { ...who, now }, loader);
    const planned: { index: number; event: NewEvent }[] = [];
    for (const write of plan.writes) {
      write.events.forEach((event, i) => {
        planned.push({
          index: write.indexes[i]!,
          event: { ...event, metadata: { ...event.metadata, scenarioId: id, target: write.stream } },
        });
      });
    }
    // Batch order, so the overlay applies in the order the planner asked for.
    planned.sort((a, b) => a.index - b.index);
    const duplicates = plan.duplicates.map((d) => ({ ...d, stream: stream.stream }));
    if (planned.length === 0) return { results: duplicates, appended: 0, position: undefined };
    const last = stream.last();
    const first = last ? last.revision + 1 : 0;
    const sealed = sealEvents(
      stream.stream,
      first,
      last?.hash ?? '0'.repeat(64),
      planned.map((p) => p.event),
    );
    const result = await this.deps.store.append(stream.stream, sealed, {
      expectedRevision: last ? last.revision : 'no_stream',
    });
    await stream.refresh();
    const results: ItemResult[] = planned.map((p, i) => {
      const stored = stream.events[first + i]!;
      return {
        index: p.index,
        id: stored.id,
        type: stored.type,
        stream: stream.stream,
        revision: stored.revision,
        position: stored.position.toString(),
        duplicate: false,
      };
    });
    return {
      results: [...results, ...duplicates].sort((a, b) => a.index - b.index),
      appended: planned.length,
      position: result.position.toString(),
    };
  }

  /** Expands one what-if operation against the scenario's current state and appends the resulting events. */
  async applyOperation(
    id: string,
    input: unknown,
    who: ScenarioActor,
  ): Promise<{ operationId: string; type: Operation['type']; events: number; position: string | undefined }> {
    const op = parseOperation(input);
    await this.requireActive(id);
    const operationId = newId();
    const twin = await this.twin(id);
    const drafts = expandOperation(op, {
      buildings: twin.features('buildings'),
      mobility: twin.features('mobility'),
      idPrefix: `scn-${operationId.slice(0, 8)}`,
    });
    if (drafts.length === 0) return { operationId, type: op.type, events: 0, position: undefined };
    const items = drafts.map((d) => ({
      type: d.type,
      ...(d.kind === 'city' ? {} : { entityId: d.entityId }),
      data: d.data,
    }));
    const result = await this.append(id, items, { ...who, causationId: operationId });
    return { operationId, type: op.type, events: result.appended, position: result.position };
  }

  /**
   * The scenario's twin, brought up to date: the city at the fork, then (tracking) the real events since
   * the fork without the excluded ones, and the overlay events, all in position order. Kept in memory and
   * advanced incrementally. Read it; never apply to it.
   */
  async twin(id: string): Promise<CityTwin> {
    const info = await this.get(id);
    let cached = this.twins.get(id);
    if (!cached) {
      const fork = BigInt(info.fork.position);
      const twin = await this.deps.timeTravel.materialize(info.city, { position: fork });
      cached = { twin, position: fork, busy: Promise.resolve() };
      this.twins.set(id, cached);
      while (this.twins.size > (this.deps.cacheSize ?? 4)) this.twins.delete(this.twins.keys().next().value!);
    }
    const entry = cached;
    const step = entry.busy.then(() => this.advance(info, entry));
    entry.busy = step.catch(() => undefined);
    await step;
    return entry.twin;
  }

  /**
   * The scenario as it was at a point of the log (`position`, or `at` = what was recorded by then): the city
   * at the fork, then the real events (tracking) and the scenario's own events up to that point. Up to the
   * fork the scenario is the real city. A private twin, built afresh (the cached one is always current).
   * `validAt` is not defined for scenarios: their events happen when the planner records them.
   */
  async twinAsOf(id: string, asOf: AsOf): Promise<{ twin: CityTwin; position: bigint; at?: string }> {
    if (asOf.validAt !== undefined) {
      throw new ValidationError('validAt does not apply to a scenario: use position or at', [
        { field: 'validAt', value: asOf.validAt, message: 'is not supported on scenario layers' },
      ]);
    }
    if (!isTimeTravel(asOf)) {
      const twin = await this.twin(id);
      return { twin, position: twin.position ?? 0n };
    }
    const info = await this.get(id);
    const resolved = await this.deps.timeTravel.resolve(info.city, asOf);
    let bound = resolved.position;
    if (asOf.at !== undefined) {
      // The scenario's own events recorded by then count too (they are not in the city's timeline).
      const atMs = Date.parse(asOf.at);
      for (const event of (await this.streamOf(id)).overlay()) {
        if (Date.parse(event.recordedAt) <= atMs && event.position > bound) bound = event.position;
      }
    }
    const at = resolved.at !== undefined ? { at: resolved.at } : {};
    const fork = BigInt(info.fork.position);
    if (bound <= fork) {
      const { twin } = await this.deps.timeTravel.twinAsOf(info.city, { position: bound });
      return { twin, position: bound, ...at };
    }
    return { twin: await this.twinFrom(info, bound), position: bound, ...at };
  }

  /**
   * A private twin of the scenario at `position` (at or after its fork): the city at the fork, then what the
   * scenario sees up to `position`. The caller may apply the scenario's later events to it (a live feed).
   */
  async twinAt(id: string, position: bigint): Promise<CityTwin> {
    const info = await this.get(id);
    const fork = BigInt(info.fork.position);
    if (position < fork) {
      throw new ValidationError(`Position ${position} is before the scenario's fork (${fork})`, [
        { field: 'position', value: position.toString(), message: `must be at or after the fork (${fork})` },
      ]);
    }
    return this.twinFrom(info, position);
  }

  /** A private twin: the city at the scenario's fork, then what the scenario sees up to `position`. */
  private async twinFrom(info: ScenarioInfo, position: bigint): Promise<CityTwin> {
    const fork = BigInt(info.fork.position);
    const twin = await this.deps.timeTravel.materialize(info.city, { position: fork });
    await this.advance(info, { twin, position: fork, busy: Promise.resolve() }, position);
    return twin;
  }

  /** The real city the scenario is compared with: at its fork, or now. */
  async reference(
    info: ScenarioInfo,
    against: 'fork' | 'now',
  ): Promise<{ twin: CityTwin; position: string }> {
    const asOf = against === 'fork' ? { position: BigInt(info.fork.position) } : {};
    const { twin, asOf: resolved } = await this.deps.timeTravel.twinAsOf(info.city, asOf);
    return { twin, position: resolved.position.toString() };
  }

  /** KPIs of the scenario beside the real city, with absolute and relative deltas, city-wide and per district. */
  async compare(
    id: string,
    against?: 'fork' | 'now',
  ): Promise<{ scenario: ScenarioInfo; against: 'fork' | 'now'; realPosition: string; kpis: DeltaTree }> {
    const info = await this.get(id);
    const side = against ?? (info.mode === 'frozen' ? 'fork' : 'now');
    const twin = await this.twin(id);
    const real = await this.reference(info, side);
    return {
      scenario: info,
      against: side,
      realPosition: real.position,
      kpis: compareKpis(twin.kpis(), real.twin.kpis()),
    };
  }

  /** Added, changed and removed features of a layer, scenario against the real city. */
  async diff(
    id: string,
    layer: LayerName,
    against?: 'fork' | 'now',
  ): Promise<LayerDiff & { against: 'fork' | 'now' }> {
    const info = await this.get(id);
    const side = against ?? (info.mode === 'frozen' ? 'fork' : 'now');
    const twin = await this.twin(id);
    const real = await this.reference(info, side);
    const toMap = (t: CityTwin) => new Map([...t.features(layer)].map((f) => [f.id, f]));
    return { against: side, ...diffLayers(toMap(twin), toMap(real.twin)) };
  }

  /** Folds into the twin what came after its position, up to `upTo` (default: the head of the log). */
  private async advance(info: ScenarioInfo, entry: CachedTwin, upTo?: bigint): Promise<void> {
    const stream = await this.streamOf(info.id);
    await stream.refresh();
    if (info.mode === 'frozen') {
      for (const event of stream.overlay()) {
        if (event.position <= entry.position) continue;
        if (upTo !== undefined && event.position > upTo) break;
        const target = applyTargetOf(event);
        if (target) entry.twin.apply(event, target);
        entry.position = event.position;
      }
      return;
    }
    const head = upTo ?? (await this.deps.store.headPosition()) ?? 0n;
    const excluded = new Set(info.excludeEvents);
    for await (const event of readCityEvents(this.deps.store, info.city, entry.position + 1n, head, [
      stream.stream,
    ])) {
      if (event.stream === stream.stream) {
        const target = applyTargetOf(event);
        if (target) entry.twin.apply(event, target);
      } else if (!excluded.has(event.id)) {
        entry.twin.apply(event);
      }
    }
    entry.position = head > entry.position ? head : entry.position;
  }

  private async requireActive(id: string): Promise<ScenarioInfo> {
    const info = await this.get(id);
    if (info.status === 'archived') {
      throw new ConflictError(`Scenario ${id} is archived and takes no more changes`, [
        { field: 'id', value: id, message: 'is archived' },
      ]);
    }
    return info;
  }

  private async streamOf(id: string): Promise<ScenarioStream> {
    let stream = this.streams.get(id);
    if (!stream) {
      stream = new ScenarioStream(this.deps.store, id);
      this.streams.set(id, stream);
    }
    await stream.refresh();
    return stream;
  }

  private async appendLifecycle(
    id: string,
    type: 'ScenarioCreated' | 'ScenarioArchived',
    data: unknown,
    who: ScenarioActor,
    expected: number | 'no_stream',
  ): Promise<RecordedEvent> {
    const stream = scenarioStream(id);
    const metadata: Record<string, unknown> = {
      actor: who.actor,
      source: who.source,
      occurredAt: this.deps.clock.now().toISOString(),
      correlationId: who.correlationId,
      causationId: null,
      scenarioId: id,
    };
    if (who.reason !== undefined) metadata.reason = who.reason;
    const owned = await this.streamOf(id);
    const last = owned.last();
    const [sealed] = sealEvents(stream, last ? last.revision + 1 : 0, last?.hash ?? '0'.repeat(64), [
      { id: newId(), type, data, metadata },
    ]);
    await this.deps.store.append(stream, [sealed!], { expectedRevision: expected });
    await owned.refresh();
    return owned.events[owned.events.length - 1]!;
  }

  /** Excluded events must be real events of the city recorded after the fork (tracking scenarios only). */
  private async checkExcluded(city: string, mode: string, fork: bigint, ids: string[]): Promise<void> {
    if (mode !== 'tracking') {
      throw new ValidationError(
        'excludeEvents only applies to tracking scenarios (a frozen one sees nothing after its fork)',
        [{ field: 'excludeEvents', value: ids, message: 'requires mode tracking' }],
      );
    }
    const wanted = new Set(ids);
    const head = (await this.deps.store.headPosition()) ?? 0n;
    for await (const event of readCityEvents(this.deps.store, city, fork + 1n, head)) {
      wanted.delete(event.id);
      if (wanted.size === 0) return;
    }
    const missing = ids.findIndex((i) => wanted.has(i));
    throw new ValidationError(
      `excludeEvents.${missing}: no event ${ids[missing]} of ${city} after the fork position ${fork}`,
      [
        {
          field: `excludeEvents.${missing}`,
          value: ids[missing],
          message: `is not an event of ${city} recorded after the fork (position ${fork})`,
        },
      ],
    );
  }
}
