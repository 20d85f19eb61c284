/**
 * `npm run bench [-- <workload-name-filter>] [--scale <s>]`: runs the seeded workloads, prints a table and
 * writes bench/results.json (an array of {workload, metric, value, unit, baseline, ratio}).
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult, Workload } from './harness.js';
import { workloads } from './workloads/index.js';

const args = process.argv.slice(2);
const scaleAt = args.indexOf('--scale');
const scale = scaleAt >= 0 ? Number(args[scaleAt + 1]) : 1;
const filter = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--scale');

const selected: Workload[] = workloads.filter((w) => !filter || w.name.includes(filter));
const results: BenchResult[] = [];
const fmt = (n: number | null) =>
  n === null || Number.isNaN(n)
    ? '-'
    : Math.abs(n) >= 100
      ? Math.round(n).toLocaleString('en')
      : n.toPrecision(3);

for (const workload of selected) {
  console.log(`\n# ${workload.name}: ${workload.description}`);
  const rows = await workload.run({ scale });
  for (const r of rows) {
    console.log(
      `  ${r.metric.padEnd(44)} ${fmt(r.value).padStart(12)} ${r.unit.padEnd(10)} baseline ${fmt(r.baseline).padStart(12)}  ratio ${fmt(r.ratio).padStart(7)}${r.goal ? `  goal ${r.goal}: ${r.met ? 'met' : 'NOT met'}` : ''}`,
    );
  }
  results.push(...rows);
}

const out = join(dirname(fileURLToPath(import.meta.url)), 'results.json');
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwrote ${out}`);
