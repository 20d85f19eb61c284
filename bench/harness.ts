/**
 * The benchmark harness. A workload measures a figure and, in the same run, the baseline it is compared
 * with, so that the ratio holds on whatever machine runs it.
 */
export interface BenchResult {
  workload: string;
  metric: string;
  value: number;
  unit: string;
  /** The baseline figure measured in the same run (null where the metric has none, e.g. a memory size). */
  baseline: number | null;
  /** value / baseline (null without a baseline). */
  ratio: number | null;
  /** The goal, in words, e.g. ">= 50% of baseline". */
  goal?: string;
  /** Whether the goal was met (undefined where there is none). */
  met?: boolean;
}

export interface Workload {
  name: string;
  /** One line: what is measured and against what. */
  description: string;
  run(options: { scale: number }): Promise<BenchResult[]>;
}

export function result(r: Omit<BenchResult, 'ratio'> & { ratio?: number | null }): BenchResult {
  const ratio = r.ratio !== undefined ? r.ratio : r.baseline ? r.value / r.baseline : null;
  return { ...r, ratio };
}

/** Percentile (0..100) of a list of numbers, nearest-rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Seconds elapsed while running fn. */
export async function timeIt<T>(fn: () => Promise<T> | T): Promise<{ seconds: number; value: T }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, value };
}
