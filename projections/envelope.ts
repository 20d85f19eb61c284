/** What a projection needs from an event's envelope besides its data: whose it is and when it happened. */
export interface EventEnvelope {
  /** The entity the event is about (from the stream name, or given explicitly for scenario overlays). */
  entityId: string;
  /** metadata.occurredAt: when it happened in the city. */
  occurredAt: string;
}
