import { ValidationError } from '../core/errors.js';

/**
 * Stream names: `<kind>-<city>.<entityId>` for entities, `city-<city>` for the city itself and
 * `scenario-<scenarioId>` for a scenario's overlay. The part before the first `-` is EventStoreDB's category.
 */
export const ENTITY_KINDS = ['building', 'mobility', 'grid'] as const;
export type EntityKind = (typeof ENTITY_KINDS)[number];

/** City ids are lower-case slugs without dots (the dot separates city and entity in a stream name). */
export const CITY_ID_PATTERN = /^[a-z][a-z0-9-]{1,62}$/;
/** Entity ids: URL-safe, no slash, at most 128 characters. */
export const ENTITY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

export function entityStream(kind: EntityKind, city: string, entityId: string): string {
  return `${kind}-${city}.${entityId}`;
}

export function cityStream(city: string): string {
  return `city-${city}`;
}

export function scenarioStream(scenarioId: string): string {
  return `scenario-${scenarioId}`;
}

/** Prefix matching every entity stream of one kind in one city, for filtered reads. */
export function entityStreamPrefix(kind: EntityKind, city: string): string {
  return `${kind}-${city}.`;
}

export type ParsedStream =
  | { kind: EntityKind; city: string; entityId: string }
  | { kind: 'city'; city: string }
  | { kind: 'scenario'; scenarioId: string }
  | { kind: 'other'; stream: string };

/** Splits a stream name into its parts; unknown categories come back as `other`. */
export function parseStream(stream: string): ParsedStream {
  const dash = stream.indexOf('-');
  if (dash < 0) return { kind: 'other', stream };
  const category = stream.slice(0, dash);
  const rest = stream.slice(dash + 1);
  if (category === 'city') return { kind: 'city', city: rest };
  if (category === 'scenario') return { kind: 'scenario', scenarioId: rest };
  if ((ENTITY_KINDS as readonly string[]).includes(category)) {
    const dot = rest.indexOf('.');
    if (dot > 0)
      return { kind: category as EntityKind, city: rest.slice(0, dot), entityId: rest.slice(dot + 1) };
  }
  return { kind: 'other', stream };
}

export function assertCityId(city: string, field = 'city'): string {
  if (!CITY_ID_PATTERN.test(city)) {
    throw new ValidationError(`Invalid city id: ${JSON.stringify(city)}`, [
      { field, value: city, message: 'must be a lower-case slug (a-z, 0-9, -)' },
    ]);
  }
  return city;
}
