import { readFile } from 'node:fs/promises';
import type { Feature } from 'geojson';
import { ValidationError } from '../core/errors.js';

/**
 * Reads a GeoJSON FeatureCollection's features. Each feature is returned as found (the importers check it),
 * so one broken feature is reported by index instead of failing the whole file.
 */
export async function readGeoJsonFeatures(path: string): Promise<unknown[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new ValidationError(`Cannot read GeoJSON ${path}: ${(err as Error).message}`, [
      { field: 'file', value: path, message: (err as Error).message },
    ]);
  }
  const collection = parsed as { type?: unknown; features?: unknown };
  if (collection?.type !== 'FeatureCollection' || !Array.isArray(collection.features)) {
    throw new ValidationError(`${path} is not a GeoJSON FeatureCollection`, [
      { field: 'type', value: collection?.type, message: 'must be FeatureCollection' },
    ]);
  }
  return collection.features;
}

/** A feature as the importers need it, or a reason why it is not one. */
export function asFeature(value: unknown): Feature | string {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const f = value as Partial<Feature>;
  if (f.type !== 'Feature') return `type is ${JSON.stringify(f.type)}, not "Feature"`;
  if (!f.geometry || typeof f.geometry !== 'object') return 'has no geometry';
  return f as Feature;
}

/** Entity ids allow letters, digits and `_ . : -`; anything else in a source id becomes `_`. */
export function safeIdPart(raw: string | number): string {
  return String(raw)
    .trim()
    .replace(/[^A-Za-z0-9_.:-]/g, '_')
    .slice(0, 100);
}
