/**
 * The live twin's wire contract: Socket.IO namespace `/live`. Every client message is parsed with the zod
 * schemas below (the types the server trusts are their `z.infer`); every server message is typed here.
 * Positions are the event store's global positions, serialised as decimal strings.
 */
import type { Geometry } from 'geojson';
import { z } from 'zod';
import type { Principal } from '../access/roles.js';
import type { FieldIssue } from '../core/errors.js';
import { CITY_ID_PATTERN } from '../domain/streams.js';
import { LAYERS, type LayerName, type TwinFeature } from '../twin/changes.js';

export const LIVE_NAMESPACE = '/live';

/** A global position as a decimal string (bigint on the server). */
export const positionStringSchema = z.string().regex(/^(0|[1-9][0-9]{0,19})$/, 'must be a decimal position');

const lon = z.number().min(-180).max(180);
const lat = z.number().min(-90).max(90);

/** `[minLon, minLat, maxLon, maxLat]` in WGS84. */
export const bboxSchema = z
  .tuple([lon, lat, lon, lat])
  .refine(([w, s, e, n]) => w <= e && s <= n, { message: 'bbox must be [minLon, minLat, maxLon, maxLat]' });
export type BBox = z.infer<typeof bboxSchema>;

export const subscribeSchema = z.strictObject({
  city: z.string().regex(CITY_ID_PATTERN, 'must be a lower-case city slug'),
  layers: z.array(z.enum(LAYERS)).min(1).max(LAYERS.length),
  bbox: bboxSchema.optional(),
  /** `properties.kind` values to keep (e.g. `bus`, `scooter`); all kinds when absent. */
  kinds: z.array(z.string().min(1).max(64)).min(1).max(50).optional(),
  /**
   * A what-if scenario of `city` to follow instead of the city itself (planner keys): its twin's snapshot, then
   * its own events (and, when tracking, the city's later ones). Positions are global positions as ever.
   */
  scenario: z.string().min(1).max(200).optional(),
  /** The last position this client received: resume after it (exclusive). */
  since: positionStringSchema.optional(),
});
export type SubscribeRequest = z.infer<typeof subscribeSchema>;

export const unsubscribeSchema = z.strictObject({ subscriptionId: z.string().min(1).max(100) });
export type UnsubscribeRequest = z.infer<typeof unsubscribeSchema>;

export const updateAreaSchema = z.strictObject({
  subscriptionId: z.string().min(1).max(100),
  /** The new area; `null` means the whole city. */
  bbox: bboxSchema.nullable(),
});
export type UpdateAreaRequest = z.infer<typeof updateAreaSchema>;

/** What an ack carries when a request is refused: a problem document (RFC 7807 shaped). */
export interface LiveProblem {
  ok: false;
  type: string;
  title: string;
  status: number;
  detail: string;
  issues: FieldIssue[];
}

export type SubscribeAck = { ok: true; subscriptionId: string; position: string } | LiveProblem;
export type UnsubscribeAck = { ok: true } | LiveProblem;
export type UpdateAreaAck = { ok: true; position: string } | LiveProblem;

/**
 * Vehicles of the `mobility` layer the client already holds moved, and nothing else changed but what their
 * position reports set, in columns (the i-th move is the i-th entry of every array). For move i, the held
 * feature `mobility:id[i]` gets the geometry `{type: 'Point', coordinates: [x[i], y[i]]}`, its
 * `lastPositionAt` and `updatedAt` both become its time (`at[i]`, or, where that is null, the time of the
 * move before it), `speedKmh` becomes `v[i]` and `headingDeg` becomes `h[i]` (null when the report had none);
 * every other property stays as held. Applying it gives exactly the twin's feature. Moves that follow each
 * other in a change list go as one block, in position order; columns rather than one object per move because
 * a console parses a few arrays of numbers and short strings much faster than as many small objects (about a
 * third of the time, and two thirds of the bytes).
 */
export interface LiveMoves {
  op: 'moves';
  /** Never sent: moves are always of the `mobility` layer (so code reading `change.layer` sees undefined). */
  layer?: never;
  id: string[];
  /**
   * Move i's global position is the message's `after` plus `offset[i]`: a small integer, where a decimal
   * string per move cost a console's JSON parser more than the whole rest of the block.
   */
  offset: number[];
  x: number[];
  y: number[];
  /**
   * Report times; null means the same time as the move before it (the reports of one request share their
   * time), so the first entry is never null.
   */
  at: Array<string | null>;
  /**
   * Speeds and headings; a column is left out when no move of the block has one (vehicles whose feed reports
   * neither, as most bike and scooter feeds): absent means null for every move.
   */
  v?: Array<number | null>;
  h?: Array<number | null>;
}

/**
 * One change as delivered: the feature after it (upsert), its removal from the client's view, (patch) what
 * changed in a feature the client already holds for this subscription: `geometry` when it moved, and the
 * `properties` whose values changed, to be merged into the held feature's properties (the feature is then
 * exactly the twin's), or (moves, `LiveMoves`) the compact patches of vehicles' position reports. A position
 * report of a vehicle already in view is a move; one that also changes another property is a patch; an
 * entity entering the view always arrives whole (upsert), so neither names an entity the client lacks.
 */
export type LiveChange =
  | { op: 'upsert'; layer: LayerName; id: string; position: string; feature: TwinFeature }
  | {
      op: 'patch';
      layer: LayerName;
      id: string;
      position: string;
      geometry?: Geometry;
      properties?: Record<string, unknown>;
    }
  | LiveMoves
  | { op: 'remove'; layer: LayerName; id: string; position: string };

/**
 * A batch of changes covering the positions `(after, position]` of the subscription's feed (its city, or its
 * scenario): every event of it in that range is reflected (high-frequency position updates may be coalesced
 * to the entity's latest state).
 * A client has no gap when each message's `after` equals the previous message's `position`.
 */
export interface ChangesMessage {
  subscriptionId: string;
  after: string;
  position: string;
  changes: LiveChange[];
}

/**
 * The features in the subscription's area at `position`, possibly in several chunks (`chunk` of `chunks`).
 * Chunk 0 replaces whatever the client held for this subscription. `reason: 'resync'` means the server
 * could not send the missed changes (gap beyond the resume bound, or the client fell too far behind).
 */
export interface SnapshotMessage {
  subscriptionId: string;
  position: string;
  reason: 'initial' | 'resync';
  cause?: 'resume-gap-too-large' | 'slow-consumer';
  chunk: number;
  chunks: number;
  features: Array<{ layer: LayerName; feature: TwinFeature }>;
}

/** An asset entered or left a geofence. */
export interface GeofenceTransition {
  transition: 'enter' | 'exit';
  geofenceId: string;
  geofenceName: string;
  assetId: string;
  kind: string;
  /** Where it crossed (the interpolated boundary point when it happened between two reports). */
  location: { type: 'Point'; coordinates: number[] };
  /** When (interpolated between the two reports when it crossed in between). */
  occurredAt: string;
  /** The global position of the report that revealed it. */
  position: string;
  /** True when the crossing happened between two reports rather than at one. */
  interpolated: boolean;
}

export interface GeofenceMessage {
  subscriptionId: string;
  transitions: GeofenceTransition[];
}

/**
 * Data messages are acknowledged by the client when they ask (every snapshot chunk, every few `changes`
 * messages): the messages no acknowledgement has covered yet are what flow control counts.
 */
export interface ServerToClientEvents {
  snapshot: (message: SnapshotMessage, ack: () => void) => void;
  /**
   * `ack` is there when the server asks for an acknowledgement (not on every message: call it when given);
   * it acknowledges this message and every one before it.
   */
  changes: (message: ChangesMessage, ack?: () => void) => void;
  geofence: (message: GeofenceMessage) => void;
}

export interface ClientToServerEvents {
  subscribe: (request: SubscribeRequest, ack: (result: SubscribeAck) => void) => void;
  unsubscribe: (request: UnsubscribeRequest, ack: (result: UnsubscribeAck) => void) => void;
  updateArea: (request: UpdateAreaRequest, ack: (result: UpdateAreaAck) => void) => void;
}

/** What the handshake attaches to a socket: the principal its token stands for. */
export interface LiveSocketData {
  principal: Principal;
}

/** Turns zod issues into field issues that name the field and the bad value. */
export function zodIssues(error: z.ZodError, input: unknown): FieldIssue[] {
  return error.issues.map((issue) => {
    let value: unknown = input;
    for (const key of issue.path) {
      value =
        value !== null && typeof value === 'object'
          ? (value as Record<PropertyKey, unknown>)[key as PropertyKey]
          : undefined;
    }
    return { field: issue.path.map(String).join('.') || '(payload)', message: issue.message, value };
  });
}
