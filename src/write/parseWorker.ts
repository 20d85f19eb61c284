/**
 * A parse worker (started by parseWorkers.ts through core/workerBootstrap.mjs): parses chunks of a batch, or an
 * ingest body's JSON text, exactly as the write pipeline does in process (parseItems.ts, batchBody.ts), and
 * answers each item with its canonical data text instead of the data object, because a string crosses
 * threads in one copy and is the very text the hash and the store need.
 */
import { parentPort } from 'node:worker_threads';
import { canonicalJson } from '../audit/canonicalJson.js';
import { errorToWire } from '../core/errors.js';
import { parseBatchBody } from './batchBody.js';
import { type ParsedItem, parseItems } from './parseItems.js';
import type { ParseJob, ParseReply, WireItem } from './parseWire.js';

function toWire(item: ParsedItem): WireItem {
  return {
    index: item.index,
    id: item.id,
    idGiven: item.idGiven,
    type: item.event.type,
    dataText: item.dataText ?? canonicalJson(item.event.data) ?? 'null',
    kind: item.kind,
    entityId: item.entityId,
    stream: item.stream,
    occurredAt: item.occurredAt,
    reason: item.reason,
  };
}

function answer(job: ParseJob): ParseReply {
  const now = new Date(job.nowMs);
  if (job.kind === 'items') {
    return {
      job: job.job,
      items: parseItems(job.city, job.items, now, job.offset).map(toWire),
    };
  }
  const body = parseBatchBody(job.city, job.text, now, job.maxBatch, job.share);
  return {
    job: job.job,
    items: body.items.map(toWire),
    size: body.size,
    ...(body.source !== undefined ? { source: body.source } : {}),
    ...(body.reason !== undefined ? { reason: body.reason } : {}),
  };
}

parentPort!.on('message', (job: ParseJob) => {
  let reply: ParseReply;
  try {
    reply = answer(job);
  } catch (err) {
    reply = { job: job.job, error: errorToWire(err) };
  }
  parentPort!.postMessage(reply);
});
