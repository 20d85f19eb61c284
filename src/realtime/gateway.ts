/**
 * The live gateway: Socket.IO namespace `/live` on the HTTP server. Each node follows the twin's change
 * feed (which follows the store) and pushes to its own sockets, so N nodes need no broker between them.
 *
 * Subscriptions of a city with equal filters form a group: each change is routed (through an R-tree of the
 * groups' areas) into the groups whose view it touches, coalesced there for one window, and sent as one
 * frame per group and window, encoded once for every member in step with the group. Per subscription remain
 * its position, a count of unacknowledged messages and its own bounded outbox, used only while it is not
 * in step (starting, resuming, behind on acknowledgements). A subscription starts from a snapshot of the twin, or resumes after `since` by replaying the
 * store; live batches arriving meanwhile are held and those the replay already covered are dropped, so the
 * handover has neither gap nor duplicate.
 */
import type { Server as HttpServer } from 'node:http';
import type { Geometry } from 'geojson';
import RBush from 'rbush';
import { Server, type Socket } from 'socket.io';
import type { Principal } from '../access/roles.js';
import { ANONYMOUS_READER, canAccess } from '../access/roles.js';
import type { Config } from '../config.js';
import {
  AppError,
  ForbiddenError,
  NotFoundError,
  UnauthorizedError,
  UnavailableError,
  ValidationError,
} from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { EventStore } from '../eventStore/port.js';
import type { ScenarioInfo } from '../scenarios/registry.js';
import { LAYERS, type LayerName, type TwinChangeBatch, type TwinFeature } from '../twin/changes.js';
import { geometryBBox } from '../twin/geo.js';
import type { ProjectionRunner } from '../twin/projectionRunner.js';
import { type AreaFilter, featureMatches, viewChange } from './areaFilter.js';
import {
  type ChangesMessage,
  type ClientToServerEvents,
  type GeofenceTransition,
  LIVE_NAMESPACE,
  type LiveChange,
  type LiveProblem,
  type LiveSocketData,
  type ServerToClientEvents,
  type SnapshotMessage,
  type SubscribeRequest,
  subscribeSchema,
  unsubscribeSchema,
  updateAreaSchema,
  zodIssues,
} from './contract.js';
import type { GeofenceRegistry } from './geofenceRegistry.js';
import { createGeofenceTracker, type GeofenceTracker } from './geofenceTracker.js';
import { createOutbox, liveChangesOf, type Outbox, type OutboxChange } from './outbox.js';
import { planResume, type ResumePlan, type ScratchTwin } from './resume.js';
import {
  isScenarioFeedKey,
  type LiveScenarios,
  openScenarioFeed,
  type ScenarioFeed,
  scenarioFeedKey,
} from './scenarioFeed.js';
import { emitSharedChanges, type SharedBody, sharedBodyOf } from './sharedFrame.js';
import { untilWindowEnd, WINDOW_SLOTS } from './windowSlots.js';
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
  /**
   * Resolves once the twin has replayed the store's history (the runner reports no changes before that);
   * rejects with UnavailableError after `timeoutMs`. Absent: the source is always caught up.
   */
  whenCaughtUp?(timeoutMs: number): Promise<void>;
}

/** How long a subscription waits for a server that is still replaying its history. */
const CATCH_UP_WAIT_MS = 120_000;

/** The projection runner as a live source (`createProjectionRunner(...)`). */
export function liveTwinSourceOf(runner: ProjectionRunner): LiveTwinSource {
  return {
    get position() {
      return runner.position;
    },
    onChange: (listener) => runner.onChange(listener),
    features: (city, layer) => runner.twins.get(city)?.features(layer),
    waitForPosition: (position, timeoutMs) => runner.waitForPosition(position, timeoutMs),
    whenCaughtUp: (timeoutMs) => runner.waitUntilCaughtUp(timeoutMs),
  };
}

export interface LiveOptions {
  /** Window within which position reports of one entity are coalesced (ms). */
  coalesceMs: number;
  /** Changes a subscription may hold unsent before it is resynchronised with a snapshot. */
  maxBuffer: number;
  /** Most missed events a resume replays; beyond, a snapshot flagged `resync`. */
  maxResumeEvents: number;
  /**
   * Unacknowledged data messages per subscription before the server stops sending and buffers. A `changes`
   * message asks for an acknowledgement on every `maxInFlight / 2`-th message (rounded down, at least every
   * one) and on the one that reaches the limit; an acknowledgement covers the messages before it.
   */
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
  /** What-if scenarios (`liveScenariosOf(service)`); without them a `scenario` subscription is refused (503). */
  scenarios?: LiveScenarios;
  options?: Partial<LiveOptions>;
  logger?: Logger;
}

export interface LiveGateway {
  readonly io: Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, LiveSocketData>;
  /** Subscriptions open right now (for tests and metrics). */
  subscriptionCount(): number;
  /**
   * Fan-out counters since start: filter groups now, `changes` messages sent as a shared frame or on their
   * own, and the scenario feeds open now.
   */
  stats(): { groups: number; sharedSends: number; ownSends: number; scenarioFeeds: number };
  close(): Promise<void>;
}

type LiveSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, LiveSocketData>;

/** What a subscription's snapshot, resume and handover read: a city's live twin, or a scenario's feed. */
export interface FeedSource {
  /** The position its features are at (the last batch it delivered, or where it started). */
  readonly position: bigint;
  features(layer: LayerName): Iterable<TwinFeature> | undefined;
  /** Resolves once it has delivered the batches through `position`. */
  waitForPosition(position: bigint, timeoutMs: number): Promise<void>;
  /** The changes after `since` read from the store, or `too-large`. */
  planResume(since: bigint, maxEvents: number): Promise<ResumePlan>;
}

interface LiveSub {
  id: string;
  socket: LiveSocket;
  /** The city the subscription reads (what access is checked against). */
  city: string;
  /** The feed its changes come from: the city itself, or `scenario:<id>`. */
  feed: string;
  source: FeedSource;
  filter: AreaFilter;
  /** The filter group it receives frames from, once live. */
  group: FilterGroup | undefined;
  /** What this console alone still has to receive (when it cannot take a group frame as it is). */
  outbox: Outbox;
  /** Data messages sent that no acknowledgement has covered yet. */
  inFlight: number;
  /** Of those, the ones sent since the last message that asked for an acknowledgement (see `trackSend`). */
  unasked: number;
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

/**
 * The subscriptions of one city with equal filters: they see exactly the same changes, so the area test,
 * the coalescing and the encoding are done once per group and window, not once per console.
 */
interface FilterGroup {
  key: string;
  feed: string;
  filter: AreaFilter;
  members: Set<LiveSub>;
  /** The group's changes of the current window (coalesced); drained into one frame per window. */
  outbox: Outbox;
  lastFlushAt: number;
  /** Which of the staggered window ends it flushes at (`WINDOW_SLOTS`). */
  slot: number;
  /** Its entry in the city's area index (absent for a whole-city filter). */
  area?: AreaEntry;
}

interface AreaEntry {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  group: FilterGroup;
}

/** A city's filter groups, with an R-tree of their areas so a change is tested only where it can matter. */
interface CityGroups {
  groups: Map<string, FilterGroup>;
  index: RBush<AreaEntry>;
  wholeCity: Set<FilterGroup>;
}

/** One window's changes of a group, the same for every member that is in step with the group. */
interface Frame {
  after: bigint;
  through: bigint;
  items: OutboxChange[];
  changes: LiveChange[];
  afterText: string;
  throughText: string;
  /** The change list encoded once, on the first member that takes the frame as it is. */
  body: SharedBody | undefined;
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

/** The extent a geometry is searched with in the area index (undefined: no geometry). */
function extentOf(geometry: Geometry | null | undefined): [number, number, number, number] | undefined {
  return geometry ? geometryBBox(geometry) : undefined;
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
  const all = new Map<string, LiveSub>();
  /** Live subscriptions per feed (a city's, the receivers of geofence transitions, or a scenario's). */
  const byFeed = new Map<string, Set<LiveSub>>();
  /** Subscriptions still starting per feed: they hold the batches that arrive meanwhile. */
  const startingByFeed = new Map<string, Set<LiveSub>>();
  const groupsByFeed = new Map<string, CityGroups>();
  /** The position of the last batch of each feed. */
  const feedHead = new Map<string, bigint>();
  /** Recent snapshots by feed and filter (see `snapshotChunks`). */
  const snapshotCache = new Map<
    string,
    { position: bigint; source: FeedSource; chunks: Array<SnapshotMessage['features']> }
  >();
  /** The scenario feeds followed for their subscribers, by feed key (opened on the first, closed after the last). */
  const scenarioFeeds = new Map<string, Promise<ScenarioFeed>>();
  /** The groups with changes waiting for the end of their window, per window slot. */
  const dirtyGroups = Array.from({ length: WINDOW_SLOTS }, () => new Set<FilterGroup>());
  const urgentGroups = new Set<FilterGroup>();
  const dirtySubs = new Set<LiveSub>();
  const slotTimers: Array<NodeJS.Timeout | undefined> = new Array(WINDOW_SLOTS).fill(undefined);
  /** Where the window slots' grid starts. */
  const epoch = Date.now();
  let groupSerial = 0;
  let urgentScheduled = false;
  let serial = 0;
  let sharedSends = 0;
  let ownSends = 0;
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

  const addTo = <K, V>(map: Map<K, Set<V>>, key: K, value: V) => {
    let set = map.get(key);
    if (!set) {
      set = new Set();
      map.set(key, set);
    }
    set.add(value);
  };
  const removeFrom = <K, V>(map: Map<K, Set<V>>, key: K, value: V) => {
    const set = map.get(key);
    set?.delete(value);
    if (set && set.size === 0) map.delete(key);
  };

  // ---- sending ----------------------------------------------------------------------------------------

  /** A `changes` message asks for an acknowledgement this often (and always when it fills the window). */
  const ackEvery = Math.max(1, Math.floor(options.maxInFlight / 2));

  /**
   * Counts a data message about to be sent as in flight; returns the acknowledgement callback it asks with,
   * or undefined when it does not ask. A console processes its messages in order, so an acknowledgement
   * covers its message and every one sent before it: asking on every few messages (and always on the one
   * that reaches `maxInFlight`, so that a held subscription always has an answer coming) bounds what is in
   * flight as exactly as asking on each, for a fraction of the acknowledgements (a socket write on the
   * console and a read on the server each; with 500 consoles, thousands per second).
   */
  const trackSend = (sub: LiveSub, alwaysAsk: boolean): (() => void) | undefined => {
    sub.inFlight += 1;
    sub.lastSentAt = Date.now();
    if (!alwaysAsk && sub.unasked + 1 < ackEvery && sub.inFlight < options.maxInFlight) {
      sub.unasked += 1;
      return undefined;
    }
    const covers = sub.unasked + 1;
    sub.unasked = 0;
    return () => {
      sub.inFlight -= covers;
      if (!sub.closed) pump(sub);
    };
  };

  /** Whether an acknowledgement asked for is still to come. */
  const awaitingAck = (sub: LiveSub) => sub.inFlight > sub.unasked;

  /** Emits a `changes` message encoded for this socket alone, asking for an acknowledgement when given one. */
  const emitOwnChanges = (sub: LiveSub, message: ChangesMessage, ack: (() => void) | undefined) => {
    ownSends += 1;
    if (ack) sub.socket.emit('changes', message, ack);
    else sub.socket.emit('changes', message);
  };

  const emitData = (sub: LiveSub, event: 'snapshot' | 'changes', message: unknown) => {
    // Snapshot chunks always ask: a resynchronised console's answer is what lets its changes flow again.
    const ack = trackSend(sub, event === 'snapshot');
    if (event === 'snapshot') sub.socket.emit('snapshot', message as SnapshotMessage, ack!);
    else emitOwnChanges(sub, message as ChangesMessage, ack);
  };

  const sendSnapshot = (
    sub: LiveSub,
    reason: SnapshotMessage['reason'],
    cause?: SnapshotMessage['cause'],
  ) => {
    const position = sub.source.position;
    const chunks = snapshotChunks(sub, position);
    sub.outbox.reset(position);
    sub.coveredThrough = position;
    sub.resync = false;
    for (let chunk = 0; chunk < chunks.length; chunk++) {
      emitData(sub, 'snapshot', {
        subscriptionId: sub.id,
        position: position.toString(),
        reason,
        ...(cause ? { cause } : {}),
        chunk,
        chunks: chunks.length,
        features: chunks[chunk]!,
      } satisfies SnapshotMessage);
    }
  };

  /**
   * The snapshot of a subscription's view at `position`, in chunks. Consoles of one area tend to (re)connect
   * together (a wall of screens, a node restart): those asking at the same position of the same feed with
   * the same filter share one scan of the twin and, since the chunk arrays are the same objects, one
   * encoding of each chunk's features (`wireParser.ts`). Kept for at most one idle tick, so it never holds
   * old features for long.
   */
  const snapshotChunks = (sub: LiveSub, position: bigint): Array<SnapshotMessage['features']> => {
    const key = `${sub.feed}\u0000${filterKeyOf(sub.filter)}`;
    const cached = snapshotCache.get(key);
    if (cached && cached.position === position && cached.source === sub.source) return cached.chunks;
    const features: SnapshotMessage['features'] = [];
    for (const layer of sub.filter.layers) {
      for (const feature of sub.source.features(layer) ?? []) {
        if (featureMatches(sub.filter, layer, feature)) features.push({ layer, feature });
      }
    }
    const chunks: Array<SnapshotMessage['features']> = [];
    for (let at = 0; at < features.length || chunks.length === 0; at += options.snapshotChunk) {
      chunks.push(features.slice(at, at + options.snapshotChunk));
    }
    snapshotCache.set(key, { position, source: sub.source, chunks });
    return chunks;
  };

  /** Sends what the subscription may send now: a pending resync, then its own changes up to the in-flight limit. */
  function pump(sub: LiveSub): void {
    if (sub.closed || sub.held) return;
    if (sub.resync) {
      if (!awaitingAck(sub)) sendSnapshot(sub, 'resync', 'slow-consumer');
      return;
    }
    while (sub.inFlight < options.maxInFlight && sub.outbox.size > 0) {
      const message = sub.outbox.drain(sub.id, options.maxBatch);
      if (!message) break;
      emitData(sub, 'changes', message);
    }
    if (sub.outbox.size === 0) dirtySubs.delete(sub);
  }

  const fellBehind = (sub: LiveSub) => {
    sub.resync = true;
    deps.logger?.warn({ subscription: sub.id }, 'live client fell behind: resynchronising');
    scheduleSub(sub, true);
  };

  /**
   * Hands a group's frame to one member. A member in step with the group (nothing of its own waiting, last
   * sent exactly where the frame starts, room in flight) gets the frame itself, encoded once for all such
   * members; any other member takes the frame's changes it has not covered into its own outbox.
   */
  const deliver = (sub: LiveSub, frame: Frame) => {
    if (sub.closed || sub.held || sub.resync) return;
    const box = sub.outbox;
    if (
      box.size === 0 &&
      box.sentThrough === frame.after &&
      box.seenThrough === frame.after &&
      sub.inFlight < options.maxInFlight
    ) {
      box.reset(frame.through);
      frame.body ??= sharedBodyOf(frame.changes);
      const ack = trackSend(sub, false);
      if (emitSharedChanges(sub.socket, sub.id, frame.afterText, frame.throughText, frame.body, ack)) {
        sharedSends += 1;
        return;
      }
      const { afterText: after, throughText: position, changes } = frame;
      emitOwnChanges(sub, { subscriptionId: sub.id, after, position, changes }, ack);
      return;
    }
    const from = box.seenThrough;
    for (const item of frame.items) {
      if (item.position <= from) continue;
      if (!box.push(item)) return fellBehind(sub);
    }
    box.advance(frame.through);
    pump(sub);
  };

  const flushGroup = (group: FilterGroup) => {
    dirtyGroups[group.slot]!.delete(group);
    urgentGroups.delete(group);
    group.lastFlushAt = Date.now();
    group.outbox.advance(feedHead.get(group.feed) ?? 0n);
    for (;;) {
      const taken = group.outbox.take(options.maxBatch);
      if (!taken) break;
      const frame: Frame = {
        after: taken.after,
        through: taken.through,
        items: taken.changes,
        changes: liveChangesOf(taken.changes, taken.after),
        afterText: taken.after.toString(),
        throughText: taken.through.toString(),
        body: undefined,
      };
      for (const sub of group.members) deliver(sub, frame);
    }
  };

  /** Flushes these groups, then sends what the dirty subscriptions of their own still hold. */
  const flushGroups = (groups: Set<FilterGroup>) => {
    for (const group of [...groups]) flushGroup(group);
    for (const sub of [...dirtySubs]) pump(sub);
  };

  const onSlot = (slot: number) => {
    slotTimers[slot] = undefined;
    flushGroups(dirtyGroups[slot]!);
  };

  const onImmediate = () => {
    urgentScheduled = false;
    flushGroups(urgentGroups);
  };

  /** Arms the timer of a window slot for its next end (`windowSlots.ts`: why the slots are staggered). */
  const armSlot = (slot: number) => {
    if (slotTimers[slot]) return;
    slotTimers[slot] = setTimeout(onSlot, untilWindowEnd(Date.now(), epoch, slot, options.coalesceMs), slot);
  };

  const arm = (urgent: boolean, slot: number) => {
    if (urgent && !urgentScheduled) {
      urgentScheduled = true;
      setImmediate(onImmediate);
    }
    armSlot(slot);
  };

  /** Marks a group for the end of the window (or at once, for changes that may not wait). */
  const scheduleGroup = (group: FilterGroup, urgent: boolean) => {
    dirtyGroups[group.slot]!.add(group);
    if (urgent) urgentGroups.add(group);
    arm(urgent, group.slot);
  };

  const scheduleSub = (sub: LiveSub, urgent: boolean) => {
    dirtySubs.add(sub);
    arm(urgent, sub.group?.slot ?? 0);
  };

  // ---- filter groups ------------------------------------------------------------------------------------

  const joinGroup = (sub: LiveSub) => {
    let city = groupsByFeed.get(sub.feed);
    if (!city) {
      city = { groups: new Map(), index: new RBush<AreaEntry>(), wholeCity: new Set() };
      groupsByFeed.set(sub.feed, city);
    }
    const key = filterKeyOf(sub.filter);
    let group = city.groups.get(key);
    if (!group) {
      group = {
        key,
        feed: sub.feed,
        filter: sub.filter,
        members: new Set(),
        // Never bounded: it is drained every window, and members keep their own bound.
        outbox: createOutbox(sub.outbox.seenThrough, Number.POSITIVE_INFINITY),
        lastFlushAt: Date.now(),
        slot: groupSerial++ % WINDOW_SLOTS,
      };
      city.groups.set(key, group);
      const bbox = sub.filter.bbox;
      if (bbox) {
        group.area = { minX: bbox[0], minY: bbox[1], maxX: bbox[2], maxY: bbox[3], group };
        city.index.insert(group.area);
      } else city.wholeCity.add(group);
    }
    group.members.add(sub);
    sub.group = group;
  };

  const leaveGroup = (sub: LiveSub) => {
    const group = sub.group;
    if (!group) return;
    sub.group = undefined;
    group.members.delete(sub);
    if (group.members.size > 0) return;
    const city = groupsByFeed.get(group.feed);
    if (!city) return;
    city.groups.delete(group.key);
    if (group.area) city.index.remove(group.area);
    else city.wholeCity.delete(group);
    dirtyGroups[group.slot]!.delete(group);
    urgentGroups.delete(group);
    if (city.groups.size === 0) groupsByFeed.delete(group.feed);
  };

  /** The group's changes of this window not yet sent become the member's own (before it changes group). */
  const takeOverWindow = (sub: LiveSub) => {
    const group = sub.group;
    if (!group || sub.resync) return;
    const from = sub.outbox.seenThrough;
    for (const item of group.outbox.pending()) {
      if (item.position <= from) continue;
      if (!sub.outbox.push(item)) return fellBehind(sub);
    }
    sub.outbox.advance(feedHead.get(sub.feed) ?? from);
  };

  // Quiet areas still learn how far the city's feed went, so their `since` stays close to the head.
  const idleTimer = setInterval(() => {
    const now = Date.now();
    snapshotCache.clear();
    for (const city of groupsByFeed.values()) {
      for (const group of city.groups.values()) {
        if (dirtyGroups[group.slot]!.has(group) || now - group.lastFlushAt < options.idleAdvanceMs) continue;
        const head = feedHead.get(group.feed);
        if (head !== undefined && head > group.outbox.sentThrough) flushGroup(group);
      }
    }
    for (const sub of all.values()) {
      if (sub.held || sub.resync || awaitingAck(sub) || sub.outbox.size > 0) continue;
      if (now - sub.lastSentAt < options.idleAdvanceMs) continue;
      if (sub.outbox.seenThrough === sub.outbox.sentThrough) continue;
      const message = sub.outbox.drain(sub.id, options.maxBatch);
      if (message) emitData(sub, 'changes', message);
    }
  }, options.idleAdvanceMs);
  idleTimer.unref();

  // ---- the feed ---------------------------------------------------------------------------------------

  /** Routes one batch into a starting subscription's own outbox (replayed or held batches). */
  const process = (sub: LiveSub, batch: TwinChangeBatch) => {
    if (batch.position <= sub.coveredThrough) return;
    if (sub.resync) return;
    const coalescable = batch.eventType === 'VehiclePositionReported';
    for (const change of batch.changes) {
      const entry = outboxEntryOf(sub.filter, change, batch.position, coalescable);
      if (!entry) continue;
      if (!sub.outbox.push(entry)) return fellBehind(sub);
    }
    sub.outbox.advance(batch.position);
  };

  /** Queues one batch's changes in every filter group of its city whose view they touch. */
  const route = (city: CityGroups, batch: TwinChangeBatch) => {
    const coalescable = batch.eventType === 'VehiclePositionReported';
    const touched = new Set<FilterGroup>();
    for (const change of batch.changes) {
      touched.clear();
      for (const group of city.wholeCity) touched.add(group);
      // An entity is seen where it is now and, for a remove from view, where it was.
      const now = change.op === 'upsert' ? extentOf(change.feature.geometry) : undefined;
      const before = change.previous ? extentOf(change.previous.geometry) : undefined;
      for (const extent of [now, before]) {
        if (!extent) continue;
        for (const entry of city.index.search({
          minX: extent[0],
          minY: extent[1],
          maxX: extent[2],
          maxY: extent[3],
        })) {
          touched.add(entry.group);
        }
      }
      for (const group of touched) {
        const entry = outboxEntryOf(group.filter, change, batch.position, coalescable);
        if (!entry) continue;
        group.outbox.push(entry);
        scheduleGroup(group, !coalescable || group.outbox.size >= options.maxBatch);
      }
    }
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

  /** One batch of a feed (a city's or a scenario's), in position order: held by starting subscriptions, routed to groups. */
  const onFeedBatch = (feed: string, batch: TwinChangeBatch, transitions: GeofenceTransition[]) => {
    feedHead.set(feed, batch.position);
    for (const sub of startingByFeed.get(feed) ?? []) {
      if (!sub.held) continue;
      sub.held.push({ batch, transitions });
      if (sub.held.length > options.maxBuffer) {
        sub.held = [];
        sub.resync = true;
      }
    }
    const groups = groupsByFeed.get(feed);
    if (groups) route(groups, batch);
    if (transitions.length > 0) for (const sub of byFeed.get(feed) ?? []) notify(sub, transitions);
  };

  const unsubscribeFeed = deps.twin.onChange((batch) => {
    onFeedBatch(batch.city, batch, trackerOf(batch.city).observe(batch));
  });

  /** The scenario a subscription asks for, checked against the key and the city the request names. */
  const scenarioOf = async (principal: Principal, req: SubscribeRequest): Promise<ScenarioInfo> => {
    const id = req.scenario!;
    if (!deps.scenarios) throw new UnavailableError('Scenarios are not enabled on this server');
    // As the scenario layer routes: reading a scenario is a planner's job in the scenario's city.
    if (!canAccess(principal, { city: req.city, role: 'planner' })) {
      throw new ForbiddenError(`This key may not read scenarios of ${req.city}`);
    }
    const info = await deps.scenarios.info(id);
    if (!info) {
      // As over HTTP: only a key that may read every city learns whether a scenario exists.
      if (principal.cities !== '*') throw new ForbiddenError(`This key may not read the scenario ${id}`);
      throw new NotFoundError(`No scenario ${id}`);
    }
    if (!canAccess(principal, { city: info.city, role: 'planner' })) {
      throw new ForbiddenError(`This key may not read the scenario ${id}`);
    }
    if (info.city !== req.city) {
      throw new ValidationError(`Scenario ${id} is a scenario of ${info.city}, not of ${req.city}`, [
        { field: 'city', value: req.city, message: `must be the scenario's city (${info.city})` },
      ]);
    }
    return info;
  };

  /** The live city twin as a subscription's source (one per city). */
  const citySources = new Map<string, FeedSource>();
  const citySource = (city: string): FeedSource => {
    let source = citySources.get(city);
    if (!source) {
      source = {
        get position() {
          return deps.twin.position ?? 0n;
        },
        features: (layer) => deps.twin.features(city, layer),
        waitForPosition: (position, timeoutMs) => deps.twin.waitForPosition(position, timeoutMs),
        planResume: (since, maxEvents) =>
          planResume({ store: deps.store, city, since, maxEvents, scratch: deps.scratchTwin }),
      };
      citySources.set(city, source);
    }
    return source;
  };

  /** The scenario's feed, opened for its first subscriber (who must already be registered as starting). */
  const scenarioSource = (key: string, info: ScenarioInfo): Promise<ScenarioFeed> => {
    let feed = scenarioFeeds.get(key);
    if (!feed) {
      feed = openScenarioFeed({
        store: deps.store,
        scenarios: deps.scenarios!,
        info,
        key,
        onBatch: (batch) => onFeedBatch(key, batch, []),
        ...(deps.logger ? { logger: deps.logger } : {}),
      });
      scenarioFeeds.set(key, feed);
      // A feed that failed to open is not kept: the next subscriber tries again.
      const opening = feed;
      feed.catch(() => {
        if (scenarioFeeds.get(key) === opening) scenarioFeeds.delete(key);
      });
    }
    return feed;
  };

  /** Closes a scenario feed nobody subscribes to any more. */
  const releaseFeed = (key: string) => {
    if (!isScenarioFeedKey(key) || byFeed.has(key) || startingByFeed.has(key)) return;
    const feed = scenarioFeeds.get(key);
    scenarioFeeds.delete(key);
    feed?.then(
      (f) => f.close(),
      () => undefined,
    );
  };

  // ---- requests ---------------------------------------------------------------------------------------

  const removeSub = (sub: LiveSub) => {
    sub.closed = true;
    all.delete(sub.id);
    dirtySubs.delete(sub);
    removeFrom(byFeed, sub.feed, sub);
    removeFrom(startingByFeed, sub.feed, sub);
    leaveGroup(sub);
    releaseFeed(sub.feed);
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
        const principal = socket.data.principal;
        if (!canAccess(principal, { city: req.city, role: 'viewer' })) {
          throw new ForbiddenError(`This key may not read the city ${req.city}`);
        }
        // A server still replaying its history has neither a current twin nor a change feed yet: the
        // subscription is answered once it has caught up (or with 503 if that takes too long).
        if (deps.twin.whenCaughtUp) {
          await deps.twin.whenCaughtUp(CATCH_UP_WAIT_MS);
          if (socket.disconnected) return;
        }
        const scenario = req.scenario === undefined ? undefined : await scenarioOf(principal, req);
        const feed = scenario ? scenarioFeedKey(scenario.id) : req.city;
        const since = req.since === undefined ? undefined : BigInt(req.since);
        let resolveReady!: () => void;
        serial += 1;
        sub = {
          id: `s${serial.toString(36)}-${socket.id.slice(0, 8)}`,
          socket,
          city: req.city,
          feed,
          source: citySource(req.city),
          filter: {
            layers: new Set(req.layers),
            ...(req.bbox ? { bbox: req.bbox } : {}),
            ...(req.kinds ? { kinds: new Set(req.kinds) } : {}),
          },
          group: undefined,
          outbox: createOutbox(0n, options.maxBuffer),
          inFlight: 0,
          unasked: 0,
          held: [],
          coveredThrough: 0n,
          resync: false,
          ready: new Promise<void>((resolve) => {
            resolveReady = resolve;
          }),
          closed: false,
          lastSentAt: Date.now(),
        };
        // Registered before anything is read, so every batch from here on is either covered or held.
        all.set(sub.id, sub);
        mine.add(sub);
        addTo(startingByFeed, feed, sub);
        if (scenario) sub.source = await scenarioSource(feed, scenario);
        if (sub.closed) return;
        const head = sub.source.position;
        sub.outbox.reset(since ?? head);
        sub.coveredThrough = since ?? head;

        let plan: ResumePlan | undefined;
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
          plan = await sub.source.planResume(since, options.maxResumeEvents);
        }
        // The replay may have read past what the twin has applied; the twin catches up before the handover
        // so that the snapshot state, the replayed state and the held batches line up.
        if (plan?.kind === 'replay') await sub.source.waitForPosition(plan.through, 30_000);
        if (sub.closed) return;
        const held = sub.held ?? [];
        sub.held = undefined;
        if (since === undefined || plan?.kind === 'too-large' || sub.resync) {
          const position = sub.source.position;
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
          // Transitions the console missed are replayed too, from the same batches (a city's feed only).
          const tracker = scenario ? undefined : createGeofenceTracker(() => deps.geofences.fences(req.city));
          for (const batch of plan.batches) {
            process(sub, batch);
            if (tracker) notify(sub, tracker.observe(batch));
          }
          sub.outbox.advance(plan.through);
          sub.coveredThrough = plan.through;
        }
        for (const { batch, transitions } of held) {
          if (batch.position <= sub.coveredThrough) continue;
          process(sub, batch);
          notify(sub, transitions);
        }
        // Live from here: the group's frames take over where the held batches end.
        removeFrom(startingByFeed, sub.feed, sub);
        addTo(byFeed, sub.feed, sub);
        joinGroup(sub);
        resolveReady();
        pump(sub);
        scheduleSub(sub, true);
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
        const after: AreaFilter = {
          ...before,
          ...(req.bbox ? { bbox: req.bbox } : { bbox: undefined }),
        };
        if (!req.bbox) delete after.bbox;
        // What the old group holds for this console in the current window is the console's own from here.
        takeOverWindow(sub);
        leaveGroup(sub);
        sub.filter = after;
        joinGroup(sub);
        if (!sub.resync) {
          // The client holds the features of the old area as of the outbox; the delta goes behind what waits.
          const position = sub.outbox.seenThrough;
          for (const layer of sub.filter.layers) {
            for (const feature of sub.source.features(layer) ?? []) {
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
        scheduleSub(sub, true);
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
    stats: () => {
      let groups = 0;
      for (const city of groupsByFeed.values()) groups += city.groups.size;
      return { groups, sharedSends, ownSends, scenarioFeeds: scenarioFeeds.size };
    },
    async close() {
      unsubscribeFeed();
      clearInterval(idleTimer);
      snapshotCache.clear();
      for (const timer of slotTimers) clearTimeout(timer);
      slotTimers.fill(undefined);
      for (const sub of [...all.values()]) removeSub(sub);
      nsp.disconnectSockets(true);
      if (!(target instanceof Server)) await new Promise<void>((resolve) => io.close(() => resolve()));
    },
  };
}

export { LAYERS };

/** What a change means to one view (a subscription's or a filter group's), as an outbox entry; undefined: unseen. */
function outboxEntryOf(
  filter: AreaFilter,
  change: TwinChangeBatch['changes'][number],
  position: OutboxChange['position'],
  coalescable: boolean,
): OutboxChange | undefined {
  const seen = viewChange(filter, change);
  if (!seen) return undefined;
  return {
    op: seen.op,
    layer: change.layer,
    id: change.id,
    position,
    feature: seen.op === 'upsert' ? seen.feature : undefined,
    base: seen.op === 'upsert' ? seen.held : undefined,
    coalescable,
  };
}
