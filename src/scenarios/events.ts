import { z } from 'zod';
import { CITY_ID_PATTERN } from '../domain/streams.js';

/**
 * A scenario's own stream `scenario-<id>` holds its lifecycle (these events) and its overlay: domain events
 * of the ordinary types (BuildingRetrofitted, MobilityAssetRegistered, ...) whose metadata names the real
 * stream they would have belonged to (`target`). They are never written to that real stream.
 */
export const SCENARIO_MODES = ['frozen', 'tracking'] as const;
export type ScenarioMode = (typeof SCENARIO_MODES)[number];

export const scenarioCreatedSchema = z.strictObject({
  scenarioId: z.uuid(),
  city: z.string().regex(CITY_ID_PATTERN),
  name: z.string().min(1).max(200),
  description: z.string().max(5_000),
  mode: z.enum(SCENARIO_MODES),
  /** The global position the scenario forks from (decimal string), and the time it was asked for, if any. */
  fork: z.strictObject({
    position: z.string().regex(/^\d+$/),
    at: z.iso.datetime({ offset: true }).optional(),
  }),
  /** Real events after the fork that a tracking scenario leaves out ("what if that substation had not failed"). */
  excludeEvents: z.array(z.uuid()).max(1_000),
});

export const scenarioArchivedSchema = z.strictObject({
  reason: z.string().max(2_000).optional(),
});

export const scenarioLifecycleSchemas = {
  ScenarioCreated: scenarioCreatedSchema,
  ScenarioArchived: scenarioArchivedSchema,
} as const;

export type ScenarioLifecycleType = keyof typeof scenarioLifecycleSchemas;
export const SCENARIO_LIFECYCLE_TYPES = Object.keys(scenarioLifecycleSchemas) as ScenarioLifecycleType[];
export const isLifecycleType = (type: string): type is ScenarioLifecycleType =>
  (SCENARIO_LIFECYCLE_TYPES as string[]).includes(type);

export type ScenarioCreated = z.infer<typeof scenarioCreatedSchema>;
export type ScenarioArchived = z.infer<typeof scenarioArchivedSchema>;

/** Extra metadata on a scenario's overlay events. */
export interface OverlayMetadata {
  scenarioId: string;
  /** The real stream the event is about (e.g. `building-bucharest.b-42`, `city-bucharest`). */
  target: string;
}
