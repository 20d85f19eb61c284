import { bbox as turfBbox } from '@turf/turf';
import type { Geometry } from 'geojson';
import type { LayerName, TwinChange, TwinFeature } from '../twin/changes.js';
import type { BBox } from './contract.js';

/** What a subscription watches: some layers of a city, optionally an area and a set of kinds. */
export interface AreaFilter {
  layers: ReadonlySet<LayerName>;
  bbox?: BBox;
  kinds?: ReadonlySet<string>;
}

/** Whether a geometry touches a bbox (point inside, or the geometry's extent overlapping it). */
export function geometryInBbox(geometry: Geometry | null | undefined, area: BBox | undefined): boolean {
  if (!area) return true;
  if (!geometry) return false;
  const [w, s, e, n] = area;
  if (geometry.type === 'Point') {
    const [x, y] = geometry.coordinates as [number, number];
    return x >= w && x <= e && y >= s && y <= n;
  }
  const [gw, gs, ge, gn] = turfBbox(geometry);
  return gw <= e && ge >= w && gs <= n && gn >= s;
}

/** Whether a feature belongs to a subscription's view. */
export function featureMatches(filter: AreaFilter, layer: LayerName, feature: TwinFeature): boolean {
  if (!filter.layers.has(layer)) return false;
  if (filter.kinds) {
    // Mobility and grid features carry a `kind`; buildings a `use` (as the twin's own `kinds` query).
    const kind = feature.properties?.kind ?? feature.properties?.use;
    if (typeof kind !== 'string' || !filter.kinds.has(kind)) return false;
  }
  return geometryInBbox(feature.geometry, filter.bbox);
}

/**
 * What a subscriber sees of a twin change: an upsert while the entity is in its view (with `held`, the
 * feature the subscriber already has, when it was in view before), a remove when it left the view (moved
 * out, filtered out, or removed from the layer), nothing when it was and stays outside.
 */
export function viewChange(
  filter: AreaFilter,
  change: TwinChange,
): { op: 'upsert'; feature: TwinFeature; held: TwinFeature | undefined } | { op: 'remove' } | undefined {
  if (!filter.layers.has(change.layer)) return undefined;
  const wasIn = change.previous !== undefined && featureMatches(filter, change.layer, change.previous);
  if (change.op === 'remove') return wasIn ? { op: 'remove' } : undefined;
  if (featureMatches(filter, change.layer, change.feature)) {
    return { op: 'upsert', feature: change.feature, held: wasIn ? change.previous : undefined };
  }
  return wasIn ? { op: 'remove' } : undefined;
}
