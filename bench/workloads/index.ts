import type { Workload } from '../harness.js';
import { appendWorkload } from './append.js';
import { auditVerifyWorkload } from './auditVerify.js';
import { ingestWorkload } from './ingest.js';
import { liveWorkload } from './live.js';
import { timeTravelWorkload } from './timeTravel.js';
import { twinQueryWorkload } from './twinQuery.js';
import { twinRebuildWorkload } from './twinRebuild.js';

/** Every workload `npm run bench` runs, in order. Add one line per workload module. */
export const workloads: Workload[] = [
  appendWorkload,
  ingestWorkload,
  twinRebuildWorkload,
  twinQueryWorkload,
  timeTravelWorkload,
  liveWorkload,
  auditVerifyWorkload,
];
