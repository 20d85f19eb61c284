import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { asFeature } from './geojsonFile.js';
import type { Importer, Mapped } from './pipeline.js';

/**
 * Bucharest's district-heating network from CMTEB's public data: substations ("puncte termice") as
 * district-heating nodes, and every outage incident as a GridElementFailed at its first sighting and a
 * GridElementRestored at its first observed absence, so the stream is the real history of the network.
 *
 * Time zone: the incident timestamps carry no zone. They come from an hourly scheduled scraper whose runs
 * fall on the hour in UTC, so they are read as UTC (`2026-01-01T02:00:01` -> `2026-01-01T02:00:01Z`).
 */

/** How an incident's substation name is matched to a substation: trimmed and lower-cased. */
export const nameKey = (name: string) => name.trim().toLowerCase();

/** Entity id of a substation: its name as a slug; a repeated name (a separate installation) gets `-2`, `-3`. */
function slug(name: string): string {
  return name
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 90);
}

export interface SubstationIndex {
  /** Entity id per feature index (undefined for a feature without a name). */
  ids: (string | undefined)[];
  /** The first substation's entity id per name key. */
  byName: Map<string, string>;
}

/** Assigns each substation feature its entity id and indexes the names. */
export function indexSubstations(features: readonly unknown[]): SubstationIndex {
  const seen = new Map<string, number>();
  const byName = new Map<string, string>();
  const ids = features.map((raw) => {
    const f = asFeature(raw);
    if (typeof f === 'string') return undefined;
    const name = String((f.properties as Record<string, unknown> | null)?.name ?? '').trim();
    const base = slug(name);
    if (!base) return undefined;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    const id = `cmteb-pt-${base}${n > 1 ? `-${n}` : ''}`;
    if (!byName.has(nameKey(name))) byName.set(nameKey(name), id);
    return id;
  });
  return { ids, byName };
}

/** The substations importer: GridNodeAdded (network district-heating, nodeKind substation). */
export function substationsImporter(features: readonly unknown[], index: SubstationIndex): Importer<unknown> {
  return {
    label: 'district-heating substations',
    source: 'cmteb',
    features,
    map(raw, i, city): Mapped {
      const f = asFeature(raw);
      if (typeof f === 'string') return { invalid: f };
      if (f.geometry.type !== 'Point') return { invalid: `geometry is a ${f.geometry.type}, not a Point` };
      const id = index.ids[i];
      if (!id) return { invalid: 'has no name' };
      const name = String((f.properties as Record<string, unknown>).name).trim();
      const district = city.inside(f.geometry.coordinates)
        ? city.districtAt(f.geometry.coordinates)
        : undefined;
      return {
        featureId: id,
        where: f.geometry,
        items: [
          {
            type: 'GridNodeAdded',
            entityId: id,
            data: {
              network: 'district-heating',
              nodeKind: 'substation',
              location: f.geometry,
              name: name.slice(0, 500),
              ...(district ? { district } : {}),
            },
            reason: `CMTEB thermal point "${name}"`,
          },
        ],
      };
    },
  };
}

type IncidentRow = Record<string, string>;

/** Reads the incidents CSV (incident_id, sector, pt_name, service, first_seen_ts, last_seen_ts, first_absent_ts). */
export async function readIncidents(path: string): Promise<IncidentRow[]> {
  return parse(await readFile(path), {
    columns: true,
    bom: true,
    skip_empty_lines: true,
    relax_column_count: true,
  });
}

/** A zone-less timestamp read as UTC; one with a zone is kept as it is. Undefined when unreadable. */
export function utcTimestamp(value: string | undefined): string | undefined {
  if (!value?.trim()) return undefined;
  const text = value.trim();
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(text) ? text : `${text.replace(' ', 'T')}Z`;
  const ms = Date.parse(zoned);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** INC = heating (încălzire), ACC = domestic hot water (apă caldă de consum). */
export function serviceOf(text: string): string {
  if (/\bINC\b/i.test(text)) return 'heating';
  if (/\bACC\b/i.test(text)) return 'hot-water';
  return text.trim().slice(0, 100) || 'unspecified';
}

/** The incidents importer: appended in the order things happened, across substations. */
export function incidentsImporter(
  rows: readonly IncidentRow[],
  index: SubstationIndex,
): Importer<IncidentRow> {
  return {
    label: 'district-heating incidents',
    source: 'cmteb',
    features: rows,
    chronological: true,
    map(row): Mapped {
      const incidentId = row.incident_id?.trim();
      if (!incidentId) return { invalid: 'incident_id is empty' };
      const entityId = index.byName.get(nameKey(row.pt_name ?? ''));
      if (!entityId) return { skip: 'no substation with this name (unmatched)' };
      const failedAt = utcTimestamp(row.first_seen_ts);
      if (!failedAt)
        return { invalid: `first_seen_ts is not a timestamp: ${JSON.stringify(row.first_seen_ts)}` };
      const restoredAt = utcTimestamp(row.first_absent_ts);
      if (row.first_absent_ts?.trim() && !restoredAt) {
        return { invalid: `first_absent_ts is not a timestamp: ${JSON.stringify(row.first_absent_ts)}` };
      }
      const service = serviceOf(row.service ?? '');
      return {
        featureId: `incident-${incidentId}`,
        items: [
          {
            type: 'GridElementFailed',
            entityId,
            data: { cause: (row.service ?? '').trim().slice(0, 500) || 'outage', incidentId, service },
            occurredAt: failedAt,
            reason: `CMTEB incident ${incidentId} (sector ${row.sector ?? '?'}), first seen ${row.first_seen_ts}`,
          },
          ...(restoredAt
            ? [
                {
                  type: 'GridElementRestored' as const,
                  entityId,
                  data: { incidentId, service },
                  occurredAt: restoredAt,
                  reason: `CMTEB incident ${incidentId}: first absent ${row.first_absent_ts}`,
                },
              ]
            : []),
        ],
      };
    },
  };
}
