/**
 * The compact form of a change to an entity a console already holds: only what differs from the feature it
 * has (a new geometry, the properties whose values changed). A vehicle's position report changes its point
 * and a few properties (`lastPositionAt`, `updatedAt`, speed, heading), so its patch is a fraction of the
 * whole feature on the wire and in every console's JSON parser. A change that removes a property or touches
 * anything but `geometry` and `properties` cannot be said as a patch and goes as a whole upsert.
 */
import type { Geometry } from 'geojson';
import type { TwinFeature } from '../twin/changes.js';

export interface FeaturePatch {
  /** The new geometry (absent: unchanged). */
  geometry?: Geometry;
  /** The properties whose values changed, with their new values (absent: none changed). */
  properties?: Record<string, unknown>;
}

const sameValue = (a: unknown, b: unknown): boolean =>
  a === b ||
  (a !== null &&
    b !== null &&
    typeof a === 'object' &&
    typeof b === 'object' &&
    JSON.stringify(a) === JSON.stringify(b));

const sameGeometry = (a: Geometry, b: Geometry): boolean => {
  if (a === b) return true;
  if (a.type === 'Point' && b.type === 'Point') {
    return (
      a.coordinates[0] === b.coordinates[0] &&
      a.coordinates[1] === b.coordinates[1] &&
      a.coordinates.length === b.coordinates.length
    );
  }
  return JSON.stringify(a) === JSON.stringify(b);
};

/** What turns `base` into `feature`, or undefined when only the whole feature can say it. */
export function patchOf(base: TwinFeature, feature: TwinFeature): FeaturePatch | undefined {
  const top = feature as unknown as Record<string, unknown>;
  const held = base as unknown as Record<string, unknown>;
  for (const key in top) {
    if (key !== 'geometry' && key !== 'properties' && top[key] !== held[key]) return undefined;
  }
  for (const key in held) if (!(key in top)) return undefined;
  const from = base.properties;
  const to = feature.properties;
  let properties: Record<string, unknown> | undefined;
  for (const key in to) {
    if (sameValue(from[key], to[key])) continue;
    properties ??= {};
    properties[key] = to[key];
  }
  for (const key in from) if (!(key in to)) return undefined;
  const patch: FeaturePatch = {};
  if (!sameGeometry(base.geometry, feature.geometry)) patch.geometry = feature.geometry;
  if (properties) patch.properties = properties;
  return patch;
}

/** The feature a console holds after a patch (a new object; `held` is not changed). */
export function applyPatch(held: TwinFeature, patch: FeaturePatch): TwinFeature {
  return {
    ...held,
    ...(patch.geometry ? { geometry: patch.geometry } : {}),
    properties: patch.properties ? { ...held.properties, ...patch.properties } : held.properties,
  };
}
