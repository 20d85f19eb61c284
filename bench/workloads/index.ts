import type { Workload } from '../harness.js';
import { appendWorkload } from './append.js';
import { auditVerifyWorkload } from './auditVerify.js';
import { ingestWorkload } from './ingest.js';
import { liveWorkload } from './live.js';

/** Every workload `npm run bench` runs, in order. Add one line per workload module. */
export const workloads: Workload[] = [appendWorkload, ingestWorkload, auditVerifyWorkload, liveWorkload];
