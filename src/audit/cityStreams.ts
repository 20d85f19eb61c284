import { cityStream, ENTITY_KINDS, entityStreamPrefix, parseStream } from '../domain/streams.js';

/** The city a scenario was forked from (undefined: no such scenario). */
export type ScenarioCityResolver = (scenarioId: string) => Promise<string | undefined>;

/**
 * Which streams belong to a city: its entity streams (`building-|mobility-|grid-<city>.*`), the city stream
 * itself and the overlays of scenarios forked from it. `prefixes` narrows a store read; `belongs` decides
 * per stream (a prefix such as `city-cluj` would also match `city-cluj-napoca`).
 */
export function cityStreamSelector(
  city: string,
  scenarioCity?: ScenarioCityResolver,
): { prefixes: string[]; belongs(stream: string): Promise<boolean> } {
  const own = cityStream(city);
  const cache = new Map<string, boolean>();
  const prefixes = [...ENTITY_KINDS.map((k) => entityStreamPrefix(k, city)), own];
  if (scenarioCity) prefixes.push('scenario-');
  return {
    prefixes,
    async belongs(stream) {
      if (stream === own) return true;
      const parsed = parseStream(stream);
      if (parsed.kind === 'scenario') {
        if (!scenarioCity) return false;
        let hit = cache.get(parsed.scenarioId);
        if (hit === undefined) {
          hit = (await scenarioCity(parsed.scenarioId)) === city;
          cache.set(parsed.scenarioId, hit);
        }
        return hit;
      }
      return parsed.kind !== 'other' && parsed.kind !== 'city' && parsed.city === city;
    },
  };
}
