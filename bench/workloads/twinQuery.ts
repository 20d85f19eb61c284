/**
 * Spatial queries and memory of the twin: 200k buildings (x scale) applied to a city twin; bbox queries of a
 * few blocks (~300 x 300 m) through the rbush index vs a linear turf scan (booleanIntersects over every
 * footprint) of the same boxes; heap used per 100k buildings.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { bboxPolygon, booleanIntersects } from '@turf/turf';
import { createRng } from '../../seeds/prng.js';
import { createCityTwin } from '../../src/twin/cityTwin.js';
import type { BBox } from '../../src/twin/geo.js';
import { percentile, result, type Workload } from '../harness.js';
import { BENCH_CITY, buildingData, EXTENT } from './twinHistory.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapUsed = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

export const twinQueryWorkload: Workload = {
  name: 'twin-bbox',
  description:
    'bbox query over 200k buildings (x scale) via rbush vs a linear turf scan; twin memory per 100k buildings',
  async run({ scale }) {
    const count = Math.max(10_000, Math.round(200_000 * scale));
    const rng = createRng('bench:twin-bbox');
    const before = heapUsed();
    const twin = createCityTwin(BENCH_CITY);
    twin.beginBulk();
    for (let i = 0; i < count; i++) {
      twin.apply({
        type: 'BuildingRegistered',
        stream: `building-${BENCH_CITY}.b-${i}`,
        position: BigInt(i + 1),
        data: buildingData(rng),
        metadata: { occurredAt: '2025-01-01T00:00:00Z' },
      });
    }
    twin.endBulk();
    const after = heapUsed();
    const mbPer100k = ((after - before) / 1e6) * (100_000 / count);

    const box = (): BBox => {
      const lon = rng.float(EXTENT.minLon, EXTENT.maxLon - 0.004);
      const lat = rng.float(EXTENT.minLat, EXTENT.maxLat - 0.0027);
      return [lon, lat, lon + 0.004, lat + 0.0027];
    };
    for (let i = 0; i < 200; i++) twin.query('buildings', { bbox: box() });
    const times: number[] = [];
    let found = 0;
    for (let i = 0; i < 2_000; i++) {
      const b = box();
      const t = process.hrtime.bigint();
      found += twin.query('buildings', { bbox: b }).features.length;
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    const p50 = percentile(times, 50);

    const features = [...twin.features('buildings')];
    const scans: number[] = [];
    for (let i = 0; i < 3; i++) {
      const poly = bboxPolygon(box());
      const t = process.hrtime.bigint();
      features.filter((f) => booleanIntersects(f, poly));
      scans.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    const scanP50 = percentile(scans, 50);
    console.log(
      `  (${count.toLocaleString('en')} buildings; ${(found / times.length).toFixed(1)} features per query on average)`,
    );
    return [
      result({
        workload: 'twin-bbox',
        metric: 'bbox query p50 (ms)',
        value: p50,
        unit: 'ms',
        baseline: scanP50,
        // Lower is better: the ratio shown is the speed-up.
        ratio: scanP50 / p50,
        goal: 'p50 < 1 ms and >= 100x faster than the turf scan',
        met: p50 < 1 && scanP50 / p50 >= 100,
      }),
      result({
        workload: 'twin-bbox',
        metric: 'bbox query p99 (ms)',
        value: percentile(times, 99),
        unit: 'ms',
        baseline: null,
      }),
      result({
        workload: 'twin-bbox',
        metric: 'twin heap per 100k buildings (MB)',
        value: mbPer100k,
        unit: 'MB',
        baseline: null,
      }),
    ];
  },
};
