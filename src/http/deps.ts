import type { KeyRegistry } from '../access/keyRegistry.js';
import type { Config } from '../config.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { EventStore } from '../eventStore/port.js';
import type { GeofenceRegistry } from '../realtime/geofenceRegistry.js';
import type { ScenarioService } from '../scenarios/service.js';
import type { TimeTravel } from '../timeTravel/timeTravel.js';
import type { CityTwin } from '../twin/cityTwin.js';
import type { ProjectionRunner } from '../twin/projectionRunner.js';
import type { TwinRegistry } from '../twin/registry.js';
import type { Writer } from '../write/writer.js';

/** A named readiness check for `GET /ready`; resolves to true (ready) or false / throws (not ready). */
export interface ReadinessCheck {
  name: string;
  check(): Promise<boolean | { ready: boolean; detail?: unknown }> | boolean;
}

/**
 * Everything the HTTP app needs, built once in src/main.ts (or in a test). Components that are optional
 * for the app to start (the twin, scenarios, auth, audit) are added here as optional members, so a test can
 * build an app with only what it exercises.
 */
export interface AppDeps {
  config: Config;
  store: EventStore;
  clock: Clock;
  logger: Logger;
  /** The write pipeline (src/write/); the ingest route makes one over `store` when absent. */
  writer?: Writer;
  /** Checks `GET /ready` runs besides pinging the store (e.g. the twin has caught up). */
  readiness?: ReadinessCheck[];
  /** API keys (src/access/); main passes a started, live registry. Absent: one is made over `store`. */
  keys?: KeyRegistry;
  /** As-of queries (src/timeTravel/): a city's twin at a position, a recorded time and/or a valid time. */
  timeTravel?: TimeTravel<CityTwin>;
  /** What-if scenarios (src/scenarios/); the scenario routes answer 503 without it. */
  scenarios?: ScenarioService;
  /** The live city twins (src/twin/), kept current by the projection runner; the twin routes answer 503 without them. */
  twins?: TwinRegistry;
  /** The projection runner keeping `twins` current (its readiness goes into `readiness`). */
  runner?: ProjectionRunner;
  /** Geofences followed from the store (src/realtime/); the geofence routes answer 503 without them. */
  geofences?: GeofenceRegistry;
}
