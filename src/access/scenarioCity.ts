import type { EventStore } from '../eventStore/port.js';

/**
 * The city a scenario was forked from, read from the `ScenarioCreated` event that opens its stream
 * (`scenario-<id>`); undefined when there is no such scenario (or the id cannot name a stream). Scenario
 * cities never change, so answers are cached (bounded).
 */
export function scenarioCityFromStore(
  store: EventStore,
  options: { cacheSize?: number } = {},
): (scenarioId: string) => Promise<string | undefined> {
  const max = options.cacheSize ?? 10_000;
  const cache = new Map<string, string>();
  return async (scenarioId) => {
    const hit = cache.get(scenarioId);
    if (hit !== undefined) return hit;
    if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(scenarioId)) return undefined;
    let city: string | undefined;
    try {
      for await (const event of store.readStream(`scenario-${scenarioId}`, { maxCount: 1 })) {
        const data = event.data as { city?: unknown } | null;
        if (event.type === 'ScenarioCreated' && typeof data?.city === 'string') city = data.city;
      }
    } catch {
      return undefined;
    }
    if (city !== undefined) {
      if (cache.size >= max) cache.delete(cache.keys().next().value as string);
      cache.set(scenarioId, city);
    }
    return city;
  };
}
