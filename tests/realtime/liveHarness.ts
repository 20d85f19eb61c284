/**
 * A live gateway on a real HTTP server over a real event store and projection runner, with socket.io-client
 * consoles that keep a ClientView per subscription. Shared by the tests in this folder.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Socket as ClientSocket, io as connect } from 'socket.io-client';
import type { Principal } from '../../src/access/roles.js';
import { systemClock } from '../../src/core/clock.js';
import { newId } from '../../src/core/ids.js';
import { createMemoryEventStore } from '../../src/eventStore/memory.js';
import type { EventStore } from '../../src/eventStore/port.js';
import { type ClientView, createClientView } from '../../src/realtime/clientView.js';
import type {
  ChangesMessage,
  ClientToServerEvents,
  GeofenceTransition,
  ServerToClientEvents,
  SnapshotMessage,
  SubscribeAck,
  SubscribeRequest,
} from '../../src/realtime/contract.js';
import {
  attachLiveGateway,
  type LiveGateway,
  type LiveOptions,
  liveTwinSourceOf,
} from '../../src/realtime/gateway.js';
import { createGeofenceRegistry, type GeofenceRegistry } from '../../src/realtime/geofenceRegistry.js';
import { liveScenariosOf } from '../../src/realtime/scenarioFeed.js';
import { ScenarioService } from '../../src/scenarios/service.js';
import { createCityTimeTravel } from '../../src/timeTravel/cityTwinAdapter.js';
import type { TimeTravel } from '../../src/timeTravel/timeTravel.js';
import type { CityTwin } from '../../src/twin/cityTwin.js';
import { createCityTwin } from '../../src/twin/cityTwin.js';
import { createProjectionRunner, type ProjectionRunner } from '../../src/twin/projectionRunner.js';
import { box } from '../support/twinFixtures.js';

export const CITY = 'testville';
/** Testville spans [26.0, 44.0] - [26.1, 44.1]. */
export const CITY_BOX = [26.0, 44.0, 26.1, 44.1] as const;

export const TOKENS: Record<string, Principal> = {
  'viewer-all': { id: 'k-all', role: 'viewer', cities: '*' },
  'viewer-other': { id: 'k-other', role: 'viewer', cities: ['elsewhere'] },
  'planner-all': { id: 'k-planner-all', role: 'planner', cities: '*' },
  'planner-testville': { id: 'k-planner-testville', role: 'planner', cities: [CITY] },
  'planner-other': { id: 'k-planner-other', role: 'planner', cities: ['elsewhere'] },
};

export interface Harness {
  store: EventStore;
  runner: ProjectionRunner;
  geofences: GeofenceRegistry;
  gateway: LiveGateway;
  /** What-if scenarios, served over /live too (only with `{ scenarios: true }`). */
  scenarios?: ScenarioService;
  timeTravel?: TimeTravel<CityTwin>;
  url: string;
  append(stream: string, type: string, data: unknown, occurredAt?: string): Promise<bigint>;
  close(): Promise<void>;
}

/** Appends one event with full provenance, a second later (in city time) than the previous one. */
export function appendTo(store: EventStore) {
  let clock = Date.parse('2026-03-03T08:00:00.000Z');
  return async (stream: string, type: string, data: unknown, occurredAt?: string): Promise<bigint> => {
    clock += 1_000;
    const result = await store.append(stream, [
      {
        id: newId(),
        type,
        data,
        metadata: {
          actor: 'test',
          source: 'test',
          occurredAt: occurredAt ?? new Date(clock).toISOString(),
          correlationId: newId(),
          causationId: null,
        },
      },
    ]);
    return result.position;
  };
}

/** Registers the test city (its boundary is CITY_BOX). */
export function registerCity(append: Harness['append']) {
  return append(`city-${CITY}`, 'CityRegistered', {
    name: 'Testville',
    country: 'RO',
    timezone: 'Europe/Bucharest',
    boundary: box(...CITY_BOX),
    population: 1_000,
    districts: [],
  });
}

export async function startHarness(
  options: Partial<LiveOptions> = {},
  extra: { scenarios?: boolean } = {},
): Promise<Harness> {
  const store = createMemoryEventStore();
  const runner = createProjectionRunner({ store });
  await runner.start();
  const geofences = createGeofenceRegistry(store);
  await geofences.start();
  const timeTravel = extra.scenarios ? createCityTimeTravel({ store }) : undefined;
  const scenarios = timeTravel ? new ScenarioService({ store, clock: systemClock, timeTravel }) : undefined;
  const server: HttpServer = createServer();
  const gateway = attachLiveGateway(server, {
    store,
    twin: liveTwinSourceOf(runner),
    geofences,
    scratchTwin: (city) => createCityTwin(city),
    authenticate: async (token) => TOKENS[token],
    ...(scenarios ? { scenarios: liveScenariosOf(scenarios) } : {}),
    options,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const append = appendTo(store);
  await registerCity(append);
  return {
    store,
    runner,
    geofences,
    gateway,
    ...(scenarios ? { scenarios, timeTravel } : {}),
    url,
    append,
    async close() {
      await gateway.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      timeTravel?.close();
      await geofences.close();
      await runner.stop();
      await store.close();
    },
  };
}

export const point = (lon: number, lat: number) => ({ type: 'Point' as const, coordinates: [lon, lat] });

export function registerVehicle(h: Harness, id: string, lon: number, lat: number, kind = 'bus') {
  return h.append(`mobility-${CITY}.${id}`, 'MobilityAssetRegistered', {
    kind,
    location: point(lon, lat),
    operator: 'STB',
  });
}

export function moveVehicle(h: Harness, id: string, lon: number, lat: number, occurredAt?: string) {
  return h.append(
    `mobility-${CITY}.${id}`,
    'VehiclePositionReported',
    { location: point(lon, lat) },
    occurredAt,
  );
}

export function setStatus(h: Harness, id: string, status: string) {
  return h.append(`mobility-${CITY}.${id}`, 'AssetStatusChanged', { status });
}

/** A console: one socket, a ClientView per subscription, every message recorded. */
export interface Console {
  socket: ClientSocket<ServerToClientEvents, ClientToServerEvents>;
  views: Map<string, ClientView>;
  changes: ChangesMessage[];
  snapshots: SnapshotMessage[];
  geofence: GeofenceTransition[];
  /** While true, data messages are recorded but not acknowledged (a stalled console). */
  stalled: boolean;
  pendingAcks: Array<() => void>;
  subscribe(request: SubscribeRequest): Promise<SubscribeAck>;
  view(subscriptionId: string): ClientView;
  close(): void;
}

/** `token: null` connects without one. */
export async function openConsole(h: Harness, token: string | null = 'viewer-all'): Promise<Console> {
  const socket: Console['socket'] = connect(`${h.url}/live`, {
    auth: token === null ? {} : { token },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  const c: Console = {
    socket,
    views: new Map(),
    changes: [],
    snapshots: [],
    geofence: [],
    stalled: false,
    pendingAcks: [],
    subscribe: (request) => socket.emitWithAck('subscribe', request),
    view(id) {
      let v = c.views.get(id);
      if (!v) {
        v = createClientView();
        c.views.set(id, v);
      }
      return v;
    },
    close: () => socket.close(),
  };
  /** Acknowledges at once, or holds the acknowledgement while stalled (when the server asked for one). */
  const ackOrHold = (ack: (() => void) | undefined) => {
    if (!ack) return;
    if (c.stalled) c.pendingAcks.push(ack);
    else ack();
  };
  socket.on('snapshot', (m, ack) => {
    c.snapshots.push(m);
    c.view(m.subscriptionId).applySnapshot(m);
    ackOrHold(ack);
  });
  socket.on('changes', (m, ack) => {
    c.changes.push(m);
    c.view(m.subscriptionId).applyChanges(m);
    ackOrHold(ack);
  });
  socket.on('geofence', (m) => {
    c.geofence.push(...m.transitions);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
  return c;
}

/**
 * Two consoles subscribed to the city's whole mobility layer, their snapshots received at `head`: one to
 * stall (`slow`), one whose arrival paces a test (`fast`). Closed with the harness's server if a step fails.
 */
export async function fastAndSlowConsoles(h: Harness, head: bigint) {
  const fast = await openConsole(h);
  const slow = await openConsole(h);
  const f = await fast.subscribe({ city: CITY, layers: ['mobility'] });
  const s = await slow.subscribe({ city: CITY, layers: ['mobility'] });
  if (!f.ok || !s.ok) throw new Error('subscribe failed');
  const fv = fast.view(f.subscriptionId);
  const sv = slow.view(s.subscriptionId);
  await until(() => fv.position === head && sv.position === head, 10_000, 'snapshots');
  return { fast, slow, fv, sv };
}

/** The features the twin holds for a subscription's filter, as `layer:id` -> feature. */
export function twinView(
  h: Harness,
  layers: Array<'mobility' | 'buildings' | 'grid'>,
  bbox?: readonly [number, number, number, number],
): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const twin = h.runner.twins.get(CITY);
  for (const layer of layers) {
    for (const f of twin?.features(layer) ?? []) {
      if (bbox && f.geometry.type === 'Point') {
        const [x, y] = f.geometry.coordinates as [number, number];
        if (x < bbox[0] || x > bbox[2] || y < bbox[1] || y > bbox[3]) continue;
      }
      out.set(`${layer}:${f.id}`, f);
    }
  }
  return out;
}

/** Resolves once `condition` holds, polling; generous for a busy machine. */
export async function until(condition: () => boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
