/**
 * A parse worker (started by parseWorkers.ts through workerBootstrap.mjs): parses chunks of a batch's
 * items exactly as the write pipeline does in process (parseItems.ts) and answers each item with its
 * canonical data text instead of the data object, because a string crosses threads in one copy and is the
 * very text the hash and the store need.
 */
import { parentPort } from 'node:worker_threads';
import { canonicalJson } from '../audit/canonicalJson.js';
import { AppError } from '../core/errors.js';
import { parseItem } from './parseItems.js';
import type { ParseJob, ParseReply, WireItem } from './parseWire.js';

parentPort!.on('message', (job: ParseJob) => {
  let reply: ParseReply;
  try {
    const now = new Date(job.nowMs);
    const items: WireItem[] = job.items.map((input, i) => {
      const item = parseItem(job.city, input, job.offset + i, now);
      return {
        index: item.index,
        id: item.id,
        idGiven: item.idGiven,
        type: item.event.type,
        dataText: canonicalJson(item.event.data) ?? 'null',
        kind: item.kind,
        entityId: item.entityId,
        stream: item.stream,
        occurredAt: item.occurredAt,
        reason: item.reason,
      };
    });
    reply = { job: job.job, items };
  } catch (err) {
    reply =
      err instanceof AppError
        ? {
            job: job.job,
            error: {
              status: err.status,
              code: err.code,
              message: err.message,
              issues: err.issues,
              extra: err.extra,
            },
          }
        : {
            job: job.job,
            error: { status: 500, code: 'internal', message: (err as Error).message, bug: true },
          };
  }
  parentPort!.postMessage(reply);
});
