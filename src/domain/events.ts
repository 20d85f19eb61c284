import type { z } from 'zod';
import type { BuildingEvent } from './building/events.js';
import { buildingEventSchemas } from './building/events.js';
import type { CityEvent } from './city/events.js';
import { cityEventSchemas } from './city/events.js';
import type { GridEvent } from './grid/events.js';
import { gridEventSchemas } from './grid/events.js';
import type { EventMetadata } from './metadata.js';
import type { MobilityEvent } from './mobility/events.js';
import { mobilityEventSchemas } from './mobility/events.js';

/**
 * The registry of every domain event type: its zod schema (the source of truth) and the stream kind it
 * belongs to. Anything that needs "all event types" (ingest, OpenAPI, projections) reads it from here.
 */
export const EVENT_SCHEMAS = {
  city: cityEventSchemas,
  building: buildingEventSchemas,
  mobility: mobilityEventSchemas,
  grid: gridEventSchemas,
} as const;

export type StreamKindOfEvent = keyof typeof EVENT_SCHEMAS;
export type DomainEvent = CityEvent | BuildingEvent | MobilityEvent | GridEvent;
export type DomainEventType = DomainEvent['type'];

const byType = new Map<string, { kind: StreamKindOfEvent; schema: z.ZodType }>();
for (const [kind, schemas] of Object.entries(EVENT_SCHEMAS)) {
  for (const [type, schema] of Object.entries(schemas)) {
    byType.set(type, { kind: kind as StreamKindOfEvent, schema: schema as z.ZodType });
  }
}

export const EVENT_TYPES: readonly DomainEventType[] = [...byType.keys()] as DomainEventType[];

/** The schema and stream kind of an event type, or undefined for an unknown type. */
export function eventDefinition(type: string): { kind: StreamKindOfEvent; schema: z.ZodType } | undefined {
  return byType.get(type);
}

/** A domain event as read back from the store, with its envelope. Data is trusted (it was parsed on the way in). */
export type StoredDomainEvent<E extends DomainEvent = DomainEvent> = E & {
  id: string;
  stream: string;
  revision: number;
  position: bigint;
  recordedAt: string;
  metadata: EventMetadata;
};
