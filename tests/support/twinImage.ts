import type { CityTwin } from '../../src/twin/cityTwin.js';
import type { TwinRegistry } from '../../src/twin/registry.js';

/** A canonical JSON image of a twin (features by id, KPIs, coverage) for equality checks. */
export function twinImage(twin: CityTwin): string {
  const layers: Record<string, unknown[]> = {};
  for (const layer of ['buildings', 'mobility', 'grid'] as const) {
    layers[layer] = [...twin.features(layer)].sort((a, b) => (a.id < b.id ? -1 : 1));
  }
  const coverage = [...twin.features('buildings')]
    .map((f) => [f.id, twin.coverageOfBuilding(f.id)])
    .sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1));
  return JSON.stringify({
    position: twin.position?.toString(),
    info: twin.info,
    layers,
    coverage,
    kpis: twin.kpis(),
  });
}

/** Images of every twin of a registry. */
export function registryImage(twins: TwinRegistry): string {
  return JSON.stringify({
    position: twins.position?.toString(),
    cities: twins.cities().map((c) => twinImage(twins.get(c)!)),
  });
}
