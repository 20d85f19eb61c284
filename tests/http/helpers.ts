import { loadConfig } from '../../src/config.js';
import { fixedClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import type { EventStore } from '../../src/eventStore/port.js';
import { createApp } from '../../src/http/app.js';
import type { AppDeps } from '../../src/http/deps.js';

/** An app over `store` with test defaults; `env` overrides configuration variables. */
export function testApp(store: EventStore, env: Record<string, string> = {}, extra: Partial<AppDeps> = {}) {
  const deps: AppDeps = {
    config: loadConfig({ EVENT_STORE: 'memory', SEED: 'false', ...env }),
    store,
    clock: fixedClock('2026-06-01T12:00:00Z'),
    logger: silentLogger(),
    ...extra,
  };
  return createApp(deps);
}
