import type { TwinFeature } from '../twin/changes.js';

/** One KPI beside its reference: the scenario's value, the real city's, and their difference. */
export interface KpiDelta {
  scenario: number | null;
  real: number | null;
  /** scenario - real (null when either is missing). */
  delta: number | null;
  /** (scenario - real) / |real| x 100 (null when real is 0 or missing). */
  deltaPercent: number | null;
}

/** A KPI tree with every numeric leaf replaced by its KpiDelta; the shape of the KPI document is kept. */
export type DeltaTree = { [key: string]: DeltaTree | KpiDelta };

const round = (v: number) => Math.round(v * 1e6) / 1e6;

/**
 * Compares two KPI documents leaf by leaf: every number found in either becomes a KpiDelta, nested
 * objects recurse (so per-district values line up by district id). Non-numeric leaves are left out.
 */
export function compareKpis(scenario: unknown, real: unknown): DeltaTree {
  const out: DeltaTree = {};
  const s = isRecord(scenario) ? scenario : {};
  const r = isRecord(real) ? real : {};
  for (const key of new Set([...Object.keys(s), ...Object.keys(r)])) {
    const a = s[key];
    const b = r[key];
    if (typeof a === 'number' || typeof b === 'number') {
      const sv = typeof a === 'number' && Number.isFinite(a) ? a : null;
      const rv = typeof b === 'number' && Number.isFinite(b) ? b : null;
      const delta = sv !== null && rv !== null ? round(sv - rv) : null;
      out[key] = {
        scenario: sv,
        real: rv,
        delta,
        deltaPercent: delta !== null && rv !== null && rv !== 0 ? round((delta / Math.abs(rv)) * 100) : null,
      };
    } else if (isRecord(a) || isRecord(b)) {
      const sub = compareKpis(a, b);
      if (Object.keys(sub).length > 0) out[key] = sub;
    }
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A layer diff for maps: features only in the scenario, changed, and only in the real city. */
export interface LayerDiff {
  added: TwinFeature[];
  changed: { id: string; scenario: TwinFeature; real: TwinFeature; properties: string[] }[];
  removed: TwinFeature[];
}

/** Properties that move with every event and say nothing about what the scenario changed. */
const VOLATILE = new Set(['updatedAt']);

/** Diffs a scenario layer against the real one by feature id (geometry and properties compared as JSON). */
export function diffLayers(
  scenario: ReadonlyMap<string, TwinFeature>,
  real: ReadonlyMap<string, TwinFeature>,
): LayerDiff {
  const diff: LayerDiff = { added: [], changed: [], removed: [] };
  for (const [id, feature] of scenario) {
    const other = real.get(id);
    if (!other) {
      diff.added.push(feature);
      continue;
    }
    const properties = changedProperties(feature, other);
    if (properties.length > 0) diff.changed.push({ id, scenario: feature, real: other, properties });
  }
  for (const [id, feature] of real) if (!scenario.has(id)) diff.removed.push(feature);
  const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  diff.added.sort(byId);
  diff.changed.sort(byId);
  diff.removed.sort(byId);
  return diff;
}

function changedProperties(a: TwinFeature, b: TwinFeature): string[] {
  const out: string[] = [];
  if (JSON.stringify(a.geometry) !== JSON.stringify(b.geometry)) out.push('geometry');
  const pa = a.properties ?? {};
  const pb = b.properties ?? {};
  for (const key of new Set([...Object.keys(pa), ...Object.keys(pb)])) {
    if (VOLATILE.has(key)) continue;
    if (JSON.stringify(pa[key]) !== JSON.stringify(pb[key])) out.push(key);
  }
  return out;
}
