import { centroid } from '@turf/turf';
import type { Point, Polygon, Position } from 'geojson';
import { AppError } from '../core/errors.js';
import { URBAN_TWIN_NAMESPACE, uuidFromName } from '../core/ids.js';
import { type DomainEventType, eventDefinition } from '../domain/events.js';
import { ENTITY_ID_PATTERN } from '../domain/streams.js';
import type { EventStore } from '../eventStore/port.js';
import type { Writer } from '../write/writer.js';
import { type CityContext, loadCityContext } from './cityContext.js';
import { type ProgressReporter, silentProgress } from './progress.js';

/**
 * The one import pipeline every source shares: read features -> map each to proposed events (or a reason to
 * skip it) -> skip and count features outside the city -> validate -> append in batches through the writer
 * -> summary. Event ids derive from source, feature id and event type, so a re-import appends nothing twice;
 * a bad feature is reported by its index and reason and the rest go on.
 */

/** One event a feature maps to (its id is derived by the pipeline). */
export interface ImportItem {
  type: DomainEventType;
  entityId?: string;
  data: Record<string, unknown>;
  /** When it happened in the city; defaults to the import time. */
  occurredAt?: string;
  /** Recorded in the event metadata: where an attribute came from, which values are estimates. */
  reason?: string;
}

/** What a feature maps to: events (with where the feature is, for the outside-city check), or a skip. */
export type Mapped =
  | { featureId: string; items: ImportItem[]; where?: Point | Polygon }
  | { skip: string }
  | { invalid: string };

export interface Importer<F> {
  /** Short label for progress and the summary, e.g. `buildings`. */
  label: string;
  /** Source name in event ids and metadata, e.g. `osm`, `gtfs:ctp-cluj`. */
  source: string;
  features: readonly F[];
  map(feature: F, index: number, city: CityContext): Mapped;
  /** Append in the order events happened (occurredAt) instead of feature order, e.g. outage histories. */
  chronological?: boolean;
}

export interface ImportIssue {
  /** 0-based index of the feature in its source. */
  index: number;
  featureId?: string;
  reason: string;
}

export interface ImportSummary {
  label: string;
  city: string;
  /** Features read from the source. */
  read: number;
  /** Features with at least one event appended now. */
  imported: number;
  /** Features all of whose events were already stored (a re-import). */
  alreadyPresent: number;
  skippedOutsideCity: number;
  /** Features skipped for another stated reason (e.g. an incident whose substation is unknown). */
  skipped: ImportIssue[];
  /** Features that could not be imported: bad geometry, missing fields, a broken domain rule. */
  invalid: ImportIssue[];
  eventsAppended: number;
}

export interface ImportOptions<F> {
  store: EventStore;
  writer: Writer;
  city: string;
  importer: Importer<F>;
  /** Events per appended batch (default 500). */
  batchSize?: number;
  progress?: ProgressReporter;
  actor?: string;
}

interface PendingItem {
  feature: number;
  body: {
    id: string;
    type: string;
    entityId?: string;
    data: unknown;
    occurredAt?: string;
    reason?: string;
  };
}

export const IMPORT_ACTOR = 'system:import';

/** The deterministic event id of the n-th event of a type from one source feature. */
export function importEventId(source: string, featureId: string, type: string, n = 0): string {
  return uuidFromName(URBAN_TWIN_NAMESPACE, `${source}:${featureId}:${type}${n > 0 ? `:${n}` : ''}`);
}

function whereOf(where: Point | Polygon): Position {
  return where.type === 'Point' ? where.coordinates : centroid(where).geometry.coordinates;
}

/** First issue of a zod failure as `path: message`. */
function schemaReason(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const path = issue.path.map(String).join('.');
  return path ? `data.${path}: ${issue.message}` : issue.message;
}

/**
 * Runs one importer against one city and returns its summary.
 * @example await runImport({ store, writer, city: 'bucharest', importer: buildingsImporter(geojson) })
 */
export async function runImport<F>(options: ImportOptions<F>): Promise<ImportSummary> {
  const { store, writer, city, importer } = options;
  const progress = options.progress ?? silentProgress;
  const batchSize = options.batchSize ?? 500;
  const context = await loadCityContext(store, city);
  const summary: ImportSummary = {
    label: importer.label,
    city,
    read: importer.features.length,
    imported: 0,
    alreadyPresent: 0,
    skippedOutsideCity: 0,
    skipped: [],
    invalid: [],
    eventsAppended: 0,
  };
  const featureIds = new Map<number, string>();
  const invalid = new Map<number, string>();

  // Map every feature; what cannot become valid events is reported here and never reaches the writer.
  let pending: PendingItem[] = [];
  importer.features.forEach((feature, index) => {
    let mapped: Mapped;
    try {
      mapped = importer.map(feature, index, context);
    } catch (err) {
      mapped = { invalid: err instanceof Error ? err.message : String(err) };
    }
    if ('skip' in mapped) {
      summary.skipped.push({ index, reason: mapped.skip });
      return;
    }
    if ('invalid' in mapped) {
      invalid.set(index, mapped.invalid);
      return;
    }
    featureIds.set(index, mapped.featureId);
    const perType = new Map<string, number>();
    const items: PendingItem[] = [];
    for (const item of mapped.items) {
      const definition = eventDefinition(item.type);
      const parsed = definition?.schema.safeParse(item.data);
      if (!definition || !parsed?.success) {
        invalid.set(
          index,
          definition ? `${item.type} ${schemaReason(parsed!.error!)}` : `unknown type ${item.type}`,
        );
        return;
      }
      if (item.entityId !== undefined && !ENTITY_ID_PATTERN.test(item.entityId)) {
        invalid.set(index, `entity id ${JSON.stringify(item.entityId)} is not a valid id`);
        return;
      }
      const n = perType.get(item.type) ?? 0;
      perType.set(item.type, n + 1);
      items.push({
        feature: index,
        body: {
          id: importEventId(importer.source, mapped.featureId, item.type, n),
          type: item.type,
          ...(item.entityId !== undefined ? { entityId: item.entityId } : {}),
          data: item.data,
          ...(item.occurredAt ? { occurredAt: item.occurredAt } : {}),
          ...(item.reason ? { reason: item.reason } : {}),
        },
      });
    }
    // Checked after validation, so a broken geometry is reported as invalid rather than counted outside.
    if (mapped.where && !context.inside(whereOf(mapped.where))) {
      summary.skippedOutsideCity++;
      return;
    }
    pending.push(...items);
  });
  if (importer.chronological) {
    // A stable sort: events at the same instant keep their feature order.
    pending = pending
      .map((item, i) => ({ item, i, at: Date.parse(item.body.occurredAt ?? '') || 0 }))
      .sort((a, b) => a.at - b.at || a.i - b.i)
      .map(({ item }) => item);
  }

  const appendedByFeature = new Map<number, number>();
  const duplicateByFeature = new Map<number, number>();
  const featuresWithEvents = new Set(pending.map((p) => p.feature));
  progress.start(`import ${importer.label}`, pending.length);
  let done = 0;
  for (let start = 0; start < pending.length; start += batchSize) {
    let batch = pending.slice(start, start + batchSize).filter((p) => !invalid.has(p.feature));
    // A batch is all or nothing: a rejected item marks its feature invalid, and the rest is retried.
    while (batch.length > 0) {
      try {
        const result = await writer.appendBatch(
          city,
          batch.map((p) => p.body),
          {
            actor: options.actor ?? IMPORT_ACTOR,
            source: `import:${importer.source}`,
            correlationId: `import:${importer.source}:${city}:${start / batchSize}`,
          },
        );
        for (const r of result.results) {
          const feature = batch[r.index]!.feature;
          const counter = r.duplicate ? duplicateByFeature : appendedByFeature;
          counter.set(feature, (counter.get(feature) ?? 0) + 1);
        }
        summary.eventsAppended += result.appended;
        break;
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        const index = err.issues.find((i) => i.index !== undefined)?.index;
        if (index === undefined || !batch[index]) throw err;
        const feature = batch[index]!.feature;
        invalid.set(feature, err.message.replace(/^Event at index \d+ ?/, '').replace(/^: /, ''));
        batch = batch.filter((p) => p.feature !== feature);
      }
    }
    done = Math.min(start + batchSize, pending.length);
    progress.update(done);
  }
  progress.stop();

  for (const feature of featuresWithEvents) {
    if (invalid.has(feature)) continue;
    if ((appendedByFeature.get(feature) ?? 0) > 0) summary.imported++;
    else if ((duplicateByFeature.get(feature) ?? 0) > 0) summary.alreadyPresent++;
  }
  summary.invalid = [...invalid]
    .sort(([a], [b]) => a - b)
    .map(([index, reason]) => ({
      index,
      ...(featureIds.has(index) ? { featureId: featureIds.get(index)! } : {}),
      reason,
    }));
  return summary;
}

/** The summary as the lines the CLI prints. */
export function formatSummary(summary: ImportSummary, maxIssues = 20): string {
  const lines = [
    `${summary.label} -> ${summary.city}: read ${summary.read}, imported ${summary.imported}, ` +
      `already present ${summary.alreadyPresent}, skipped outside city ${summary.skippedOutsideCity}, ` +
      `skipped ${summary.skipped.length}, invalid ${summary.invalid.length} (${summary.eventsAppended} events appended)`,
  ];
  for (const issue of summary.invalid.slice(0, maxIssues)) {
    lines.push(`  invalid #${issue.index}${issue.featureId ? ` (${issue.featureId})` : ''}: ${issue.reason}`);
  }
  if (summary.invalid.length > maxIssues)
    lines.push(`  ... and ${summary.invalid.length - maxIssues} more invalid`);
  const reasons = new Map<string, number>();
  for (const s of summary.skipped) reasons.set(s.reason, (reasons.get(s.reason) ?? 0) + 1);
  for (const [reason, count] of reasons) lines.push(`  skipped ${count}: ${reason}`);
  return lines.join('\n');
}
