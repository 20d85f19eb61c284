/**
 * The live gateway: Socket.IO namespace `/live` on the HTTP server. Each node follows the twin's change
 * feed (which follows the store) and pushes to its own sockets, so N nodes need no broker between them.
 *
 * Per subscription: an area filter, an outbox (coalescing, bounded) and a count of unacknowledged
 * messages. A subscription starts from a snapshot of the twin, or resumes after `since` by replaying the
 * store; live batches arriving meanwhile are held and those the replay already covered are dropped, so the
 * handover has neither gap nor duplicate.
 */
import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import type { Principal } from '../access/roles.js';
import { ANONYMOUS_READER, canAccess } from '../access/roles.js';
import type { Config } from '../config.js';
import { AppError, ForbiddenError, UnauthorizedError, ValidationError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { EventStore } from '../eventStore/port.js';
import {
  LAYERS,
  type LayerName,
  type TwinChange,
  type TwinChangeBatch,
  type TwinFeature,
} from '../twin/changes.js';
import type { ProjectionRunner } from '../twin/projectionRunner.js';
import { type AreaFilter, featureMatches, viewChange } from './areaFilter.js';
import {
  type ClientToServerEvents,
  type GeofenceTransition,
  LIVE_NAMESPACE,
  type LiveProblem,
  type LiveSocketData,
  type ServerToClientEvents,
  type SnapshotMessage,
  subscribeSchema,
  unsubscribeSchema,
  updateAreaSchema,
  zodIssues,
} from './contract.js';
import type { GeofenceRegistry } from './geofenceRegistry.js';
import { createGeofenceTracker, type GeofenceTracker } from './geofenceTracker.js';
import { createOutbox, type Outbox } from './outbox.js';
import { planResume, type ScratchTwin } from './resume.js';
import { liveParser } from './wireParser.js';

/** The twin as the gateway sees it: the runner's change feed and each city's current features. */
export interface LiveTwinSource {
  /** Global position the twin has applied through. */
  readonly position: bigint | undefined;
  /** Change batches, synchronously, in position order; returns an unsubscribe function. */
  onChange(listener: (batch: TwinChangeBatch) => void): () => void;
  /** A city's current features of a layer (undefined for a city the twin has not seen). */
  features(city: string, layer: LayerName): Iterable<TwinFeature> | undefined;
  /** Resolves once the twin has applied `position` (a resume read from the store may be ahead of it). */
  waitForPosition(position: bigint, timeoutMs: number): Promise<void>;
}

/** The projection runner as a live source (`createProjectionRunner(...)`). */
export function liveTwinSourceOf(runner: ProjectionRunner): LiveTwinSource {
  return {
    get position() {
      return runner.position;
    },
    onChange: (listener) => runner.onChange(listener),
    features: (city, layer) => runner.twins.get(city)?.features(layer),
    waitForPosition: (position, timeoutMs) => runner.waitForPosition(position, timeoutMs),
  };
}

export interface LiveOptions {
  /** Window within which position reports of one entity are coalesced (ms). */
  coalesceMs: number;
  /** Changes a subscription may hold unsent before it is resynchronised with a snapshot. */
  maxBuffer: number;
  /** Most missed events a resume replays; beyond, a snapshot flagged `resync`. */
  maxResumeEvents: number;
  /** Unacknowledged data messages per subscription before the server stops sending and buffers. */
  maxInFlight: number;
  /** Changes per `changes` message at most. */
  maxBatch: number;
  /** Features per `snapshot` chunk. */
  snapshotChunk: number;
  /** A subscription whose area saw nothing still gets its position advanced this often (ms). */
  idleAdvanceMs: number;
}

export const DEFAULT_LIVE_OPTIONS: LiveOptions = {
  coalesceMs: 100,
  maxBuffer: 10_000,
  maxResumeEvents: 10_000,
  maxInFlight: 8,
  maxBatch: 1_000,
  snapshotChunk: 1_000,
  idleAdvanceMs: 1_000,
};

/** The gateway's options from the server configuration (LIVE_* variables). */
export function liveOptionsFromConfig(config: Config): Partial<LiveOptions> {
  return {
    coalesceMs: config.LIVE_COALESCE_MS,
    maxBuffer: config.LIVE_MAX_BUFFER,
    maxResumeEvents: config.LIVE_MAX_RESUME_EVENTS,
    maxInFlight: config.LIVE_MAX_IN_FLIGHT,
    maxBatch: config.LIVE_MAX_BATCH,
    snapshotChunk: config.LIVE_MAX_BATCH,
  };
}

export interface LiveGatewayDeps {
  store: EventStore;
  twin: LiveTwinSource;
  geofences: GeofenceRegistry;
  /** A fresh, empty twin of a city for resume replays (`createCityTwin`). */
  scratchTwin(city: string): ScratchTwin;
  /** The principal a handshake token stands for, or undefined. */
  authenticate(token: string): Promise<Principal | undefined>;
  /** Sockets without a token are anonymous readers. */
  allowAnonymousReads?: boolean;
  options?: Partial<LiveOptions>;
  logger?: Logger;
}

export interface LiveGateway {
  readonly io: Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, LiveSocketData>;
  /** Subscriptions open right now (for tests and metrics). */
  subscriptionCount(): number;
  close(): Promise<void>;
}

type LiveSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, LiveSocketData>;

interface LiveSub {
  id: string;
  socket: LiveSocket;
  city: string;
  filter: AreaFilter & { bbox?: [number, number, number, number] };
  /** Subscriptions with equal filters share the area test of each change. */
  filterKey: string;
  outbox: Outbox;
  inFlight: number;
  /** While starting, live batches (and their geofence transitions) are held here; undefined once live. */
  held: Array<{ batch: TwinChangeBatch; transitions: GeofenceTransition[] }> | undefined;
  /** Batches at or below this position are already covered (snapshot or replay). */
  coveredThrough: bigint;
  /** The client fell behind past the bound: send a snapshot once it has acknowledged what it has. */
  resync: boolean;
  ready: Promise<void>;
  closed: boolean;
  lastSentAt: number;
}

/** Equal for subscriptions that see exactly the same changes. */
function filterKeyOf(filter: AreaFilter): string {
  return JSON.stringify([
    [...filter.layers].sort(),
    filter.bbox ?? null,
    filter.kinds ? [...filter.kinds].sort() : null,
  ]);
}

function problemOf(error: unknown): LiveProblem {
  const e =
    error instanceof AppError ? error : new AppError(500, 'internal', 'The live gateway failed to do that');
  return {
    ok: false,
    type: `/problems/${e.code}`,
    title: e.name,
    status: e.status,
    detail: e.message,
    issues: e.issues,
  };
}

/**
 * Attaches `/live` to an HTTP server (or an existing Socket.IO server) and starts following the twin.
 * @example const live = attachLiveGateway(httpServer, { store, twin, geofences, scratchTwin, authenticate })
 */
export function attachLiveGateway(target: HttpServer | Server, deps: LiveGatewayDeps): LiveGateway {
  const options: LiveOptions = { ...DEFAULT_LIVE_OPTIONS, ...deps.options };
  const io = (
    target instanceof Server ? target : new Server(target, { serveClient: false, parser: liveParser })
  ) as LiveGateway['io'];
  const nsp = io.of(LIVE_NAMESPACE);
  const byCity = new Map<string, Set<LiveSub>>();
  const all = new Map<string, LiveSub>();
  const dirty = new Set<LiveSub>();
  let flushTimer: NodeJS.Timeout | undefined;
  let urgentScheduled = false;
  let serial = 0;
  const trackers = new Map<string, GeofenceTracker>();

  nsp.use((socket, next) => {
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    const fail = (error: AppError) => {
      const err = new Error(error.message) as Error & { data?: unknown };
      err.data = problemOf(error);
      next(err);
    };
    if (typeof token !== 'string' || token === '') {
      if (deps.allowAnonymousReads) {
        socket.data.principal = ANONYMOUS_READER;
        next();
      } else fail(new UnauthorizedError('A token is required in the handshake (auth: { token })'));
      return;
    }
    deps.authenticate(token).then(
      (principal) => {
        if (!principal) return fail(new UnauthorizedError('The handshake token is not valid'));
        socket.data.principal = principal;
        next();
      },
      (error: unknown) => fail(error instanceof AppError ? error : new UnauthorizedError()),
    );
  });

  // ---- sending ----------------------------------------------------------------------------------------

  const emitData = (sub: LiveSub, event: 'snapshot' | 'changes', message: unknown) => {
    sub.inFlight += 1;
    sub.lastSentAt = Date.now();
    const onAck = () => {
      sub.inFlight -= 1;
      if (!sub.closed) pump(sub);
    };
    if (event === 'snapshot') sub.socket.emit('snapshot', message as SnapshotMessage, onAck);
    else sub.socket.emit('changes', message as Parameters<ServerToClientEvents['changes']>[0], onAck);
  };

  const sendSnapshot = (
    sub: LiveSub,
    reason: SnapshotMessage['reason'],
    cause?: SnapshotMessage['cause'],
  ) => {
    const position = deps.twin.position ?? 0n;
    const features: SnapshotMessage['features'] = [];
    for (const layer of sub.filter.layers) {
      for (const feature of deps.twin.features(sub.city, layer) ?? []) {
        if (featureMatches(sub.filter, layer, feature)) features.push({ layer, feature });
      }
    }
    sub.outbox.reset(position);
    sub.coveredThrough = position;
    sub.resync = false;
    const chunks = Math.max(1, Math.ceil(features.length / options.snapshotChunk));
    for (let chunk = 0; chunk < chunks; chunk++) {
      emitData(sub, 'snapshot', {
        subscriptionId: sub.id,
        position: position.toString(),
        reason,
        ...(cause ? { cause } : {}),
        chunk,
        chunks,
        features: features.slice(chunk * options.snapshotChunk, (chunk + 1) * options.snapshotChunk),
      } satisfies SnapshotMessage);
    }
  };

  /** Sends what the subscription may send now: a pending resync, then changes up to the in-flight limit. */
  function pump(sub: LiveSub): void {
    if (sub.closed || sub.held) return;
    if (sub.resync) {
      if (sub.inFlight === 0) sendSnapshot(sub, 'resync', 'slow-consumer');
      return;
    }
    while (sub.inFlight < options.maxInFlight && sub.outbox.size > 0) {
      const message = sub.outbox.drain(sub.id, options.maxBatch);
      if (!message) break;
      emitData(sub, 'changes', message);
    }
    if (sub.outbox.size === 0) dirty.delete(sub);
  }

  const flushAll = () => {
    flushTimer = undefined;
    urgentScheduled = false;
    for (const sub of [...dirty]) pump(sub);
  };

  const schedule = (sub: LiveSub, urgent: boolean) => {
    dirty.add(sub);
    if (urgent && !urgentScheduled) {
      urgentScheduled = true;
      setImmediate(flushAll);
    } else if (!flushTimer) {
      flushTimer = setTimeout(flushAll, options.coalesceMs);
    }
  };

  // Quiet areas still learn how far the city's feed went, so their `since` stays close to the head.
  const idleTimer = setInterval(() => {
    const now = Date.now();
    for (const sub of all.values()) {
      if (sub.held || sub.resync || sub.inFlight > 0 || sub.outbox.size > 0) continue;
      if (now - sub.lastSentAt < options.idleAdvanceMs) continue;
      if (sub.outbox.seenThrough === sub.outbox.sentThrough) continue;
      const message = sub.outbox.drain(sub.id, options.maxBatch);
      if (message) emitData(sub, 'changes', message);
    }
  }, options.idleAdvanceMs);
  idleTimer.unref();

  // ---- the feed ---------------------------------------------------------------------------------------

  type Seen = { change: TwinChange; seen: NonNullable<ReturnType<typeof viewChange>> };
  const seenBy = (filter: AreaFilter, batch: TwinChangeBatch): Seen[] => {
    const out: Seen[] = [];
    for (const change of batch.changes) {
      const seen = viewChange(filter, change);
      if (seen) out.push({ change, seen });
    }
    return out;
  };

  /** Routes one batch into a live subscription's outbox (`memo`: area tests already made for this batch). */
  const process = (sub: LiveSub, batch: TwinChangeBatch, memo?: Map<string, Seen[]>) => {
    if (batch.position <= sub.coveredThrough) return;
    if (sub.resync) return;
    const coalescable = batch.eventType === 'VehiclePositionReported';
    let pushed = false;
    let seenList = memo?.get(sub.filterKey);
    if (!seenList) {
      seenList = seenBy(sub.filter, batch);
      memo?.set(sub.filterKey, seenList);
    }
    for (const { change, seen } of seenList) {
      const ok = sub.outbox.push({
        op: seen.op,
        layer: change.layer,
        id: change.id,
        position: batch.position,
        feature: seen.op === 'upsert' ? seen.feature : undefined,
        coalescable,
      });
      if (!ok) {
        sub.resync = true;
        deps.logger?.warn({ subscription: sub.id }, 'live client fell behind: resynchronising');
        schedule(sub, true);
        return;
      }
      pushed = true;
    }
    sub.outbox.advance(batch.position);
    if (pushed) schedule(sub, !coalescable);
  };

  /** Geofence transitions go to subscriptions of the mobility layer that watch the asset's kind. */
  const notify = (sub: LiveSub, transitions: GeofenceTransition[]) => {
    if (transitions.length === 0 || !sub.filter.layers.has('mobility')) return;
    const kinds = sub.filter.kinds;
    const mine = kinds ? transitions.filter((t) => kinds.has(t.kind)) : transitions;
    if (mine.length > 0) sub.socket.emit('geofence', { subscriptionId: sub.id, transitions: mine });
  };

  const trackerOf = (city: string) => {
    let tracker = trackers.get(city);
    if (!tracker) {
      tracker = createGeofenceTracker(() => deps.geofences.fences(city));
      trackers.set(city, tracker);
    }
    return tracker;
  };

  const unsubscribeFeed = deps.twin.onChange((batch) => {
    const subs = byCity.get(batch.city);
    const transitions = trackerOf(batch.city).observe(batch);
    if (!subs) return;
    const memo = new Map<string, Seen[]>();
    for (const sub of subs) {
      if (sub.held) {
        sub.held.push({ batch, transitions });
        if (sub.held.length > options.maxBuffer) {
          sub.held = [];
          sub.resync = true;
        }
        continue;
      }
      process(sub, batch, memo);
      notify(sub, transitions);
    }
  });

  // ---- requests ---------------------------------------------------------------------------------------

  const removeSub = (sub: LiveSub) => {
    sub.closed = true;
    all.delete(sub.id);
    dirty.delete(sub);
    const set = byCity.get(sub.city);
    set?.delete(sub);
    if (set && set.size === 0) byCity.delete(sub.city);
  };

  const ownSub = (socket: LiveSocket, id: string) => {
    const sub = all.get(id);
    if (!sub || sub.socket !== socket) {
      throw new ValidationError(`Unknown subscription: ${JSON.stringify(id)}`, [
        { field: 'subscriptionId', value: id, message: 'is not a subscription of this connection' },
      ]);
    }
    return sub;
  };

  const parse = <T>(
    schema: {
      safeParse(v: unknown): { success: true; data: T } | { success: false; error: import('zod').ZodError };
    },
    input: unknown,
    what: string,
  ): T => {
    const parsed = schema.safeParse(input);
    if (!parsed.success) throw new ValidationError(`Invalid ${what} request`, zodIssues(parsed.error, input));
    return parsed.data;
  };

  const safeAck = <A>(ack: unknown): ((result: A) => void) =>
    typeof ack === 'function' ? (ack as (r: A) => void) : () => {};

  nsp.on('connection', (socket: LiveSocket) => {
    const mine = new Set<LiveSub>();

    socket.on('subscribe', async (request, rawAck) => {
      const ack = safeAck<Parameters<Parameters<ClientToServerEvents['subscribe']>[1]>[0]>(rawAck);
      let sub: LiveSub | undefined;
      try {
        const req = parse(subscribeSchema, request, 'subscribe');
        if (!canAccess(socket.data.principal, { city: req.city, role: 'viewer' })) {
          throw new ForbiddenError(`This key may not read the city ${req.city}`);
        }
        if (req.scenario !== undefined) {
          throw new ValidationError('Scenario subscriptions are not available on this server', [
            {
              field: 'scenario',
              value: req.scenario,
              message: 'live scenario twins are not served by /live',
            },
          ]);
        }
        const since = req.since === undefined ? undefined : BigInt(req.since);
        const head = deps.twin.position ?? 0n;
        let resolveReady!: () => void;
        serial += 1;
        sub = {
          id: `s${serial.toString(36)}-${socket.id.slice(0, 8)}`,
          socket,
          city: req.city,
          filter: {
            layers: new Set(req.layers),
            ...(req.bbox ? { bbox: req.bbox } : {}),
            ...(req.kinds ? { kinds: new Set(req.kinds) } : {}),
          },
          filterKey: '',
          outbox: createOutbox(since ?? head, options.maxBuffer),
          inFlight: 0,
          held: [],
          coveredThrough: since ?? head,
          resync: false,
          ready: new Promise<void>((resolve) => {
            resolveReady = resolve;
          }),
          closed: false,
          lastSentAt: Date.now(),
        };
        sub.filterKey = filterKeyOf(sub.filter);
        // Registered before anything is read, so every batch from here on is either covered or held.
        all.set(sub.id, sub);
        mine.add(sub);
        let set = byCity.get(req.city);
        if (!set) {
          set = new Set();
          byCity.set(req.city, set);
        }
        set.add(sub);

        let plan: Awaited<ReturnType<typeof planResume>> | undefined;
        if (since !== undefined) {
          const storeHead = (await deps.store.headPosition()) ?? 0n;
          if (since > storeHead) {
            throw new ValidationError(`since is ahead of the store: ${since} > ${storeHead}`, [
              {
                field: 'since',
                value: req.since,
                message: `must not be after the store's last position (${storeHead})`,
              },
            ]);
          }
          plan = await planResume({
            store: deps.store,
            city: req.city,
            since,
            maxEvents: options.maxResumeEvents,
            scratch: deps.scratchTwin,
          });
        }
        // The replay may have read past what the twin has applied; the twin catches up before the handover
        // so that the snapshot state, the replayed state and the held batches line up.
        if (plan?.kind === 'replay') await deps.twin.waitForPosition(plan.through, 30_000);
        if (sub.closed) return;
        const held = sub.held ?? [];
        sub.held = undefined;
        if (since === undefined || plan?.kind === 'too-large' || sub.resync) {
          const position = deps.twin.position ?? 0n;
          ack({ ok: true, subscriptionId: sub.id, position: position.toString() });
          sendSnapshot(
            sub,
            since === undefined ? 'initial' : 'resync',
            since === undefined
              ? undefined
              : plan?.kind === 'too-large'
                ? 'resume-gap-too-large'
                : 'slow-consumer',
          );
        } else if (plan?.kind === 'replay') {
          ack({ ok: true, subscriptionId: sub.id, position: since.toString() });
          sub.coveredThrough = since;
          // Transitions the console missed are replayed too, from the same batches.
          const tracker = createGeofenceTracker(() => deps.geofences.fences(req.city));
          for (const batch of plan.batches) {
            process(sub, batch);
            notify(sub, tracker.observe(batch));
          }
          sub.outbox.advance(plan.through);
          sub.coveredThrough = plan.through;
        }
        for (const { batch, transitions } of held) {
          if (batch.position <= sub.coveredThrough) continue;
          process(sub, batch);
          notify(sub, transitions);
        }
        resolveReady();
        pump(sub);
        schedule(sub, true);
      } catch (error) {
        if (sub) {
          removeSub(sub);
          mine.delete(sub);
        }
        ack(problemOf(error));
      }
    });

    socket.on('unsubscribe', (request, rawAck) => {
      const ack = safeAck<{ ok: true } | LiveProblem>(rawAck);
      try {
        const req = parse(unsubscribeSchema, request, 'unsubscribe');
        const sub = ownSub(socket, req.subscriptionId);
        removeSub(sub);
        mine.delete(sub);
        ack({ ok: true });
      } catch (error) {
        ack(problemOf(error));
      }
    });

    socket.on('updateArea', async (request, rawAck) => {
      const ack = safeAck<{ ok: true; position: string } | LiveProblem>(rawAck);
      try {
        const req = parse(updateAreaSchema, request, 'updateArea');
        const sub = ownSub(socket, req.subscriptionId);
        await sub.ready;
        ownSub(socket, req.subscriptionId);
        const before: AreaFilter = sub.filter;
        const after: LiveSub['filter'] = {
          ...before,
          ...(req.bbox ? { bbox: req.bbox } : { bbox: undefined }),
        };
        if (!req.bbox) delete after.bbox;
        sub.filter = after;
        sub.filterKey = filterKeyOf(after);
        if (!sub.resync) {
          // The client holds the features of the old area as of the outbox; the delta goes behind what waits.
          const position = sub.outbox.seenThrough;
          for (const layer of sub.filter.layers) {
            for (const feature of deps.twin.features(sub.city, layer) ?? []) {
              const id = feature.id;
              const wasIn = featureMatches(before, layer, feature);
              const isIn = featureMatches(after, layer, feature);
              if (wasIn === isIn) continue;
              const ok = sub.outbox.push({
                op: isIn ? 'upsert' : 'remove',
                layer,
                id,
                position,
                feature: isIn ? feature : undefined,
                coalescable: false,
              });
              if (!ok) {
                sub.resync = true;
                break;
              }
            }
          }
        }
        ack({ ok: true, position: sub.outbox.seenThrough.toString() });
        schedule(sub, true);
      } catch (error) {
        ack(problemOf(error));
      }
    });

    socket.on('disconnect', () => {
      for (const sub of mine) removeSub(sub);
      mine.clear();
    });
  });

  return {
    io,
    subscriptionCount: () => all.size,
    async close() {
      unsubscribeFeed();
      clearInterval(idleTimer);
      if (flushTimer) clearTimeout(flushTimer);
      for (const sub of [...all.values()]) removeSub(sub);
      nsp.disconnectSockets(true);
      if (!(target instanceof Server)) await new Promise<void>((resolve) => io.close(() => resolve()));
    },
  };
}

export { LAYERS };
