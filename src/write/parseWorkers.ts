import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { errorFromWire, UnavailableError } from '../core/errors.js';
import type { DomainEvent } from '../domain/events.js';
import { type ParsedBody, parseBatchBody } from './batchBody.js';
import { type ItemParser, type ParsedItem, parseItems } from './parseItems.js';
import type { ParseJob, ParseReply, WireItem } from './parseWire.js';

export interface ParseWorkersOptions {
  /** Worker threads; 0 parses in process. */
  workers: number;
  /** Batches smaller than this are parsed in process: the round trip would cost more than it saves. Default 32. */
  minItems?: number;
  /** Items per chunk at least, so a batch is spread over the workers only when it is worth it. Default 200. */
  minChunk?: number;
}

/**
 * The default number of parse workers: none below 4 cores, else the cores beyond two (at most 4). On a
 * 2-core machine the workers were measured slower than parsing in process (the ingest benchmark: 6,624
 * against 9,971 events/s): the worker path costs more CPU in all (the body read by every worker of a
 * split, the data copied back between threads and parsed again there), and the event loop, the workers,
 * SQLite and the clients then share the same two cores. Spare cores are what the workers need.
 */
export function defaultParseWorkers(): number {
  const cores = availableParallelism();
  return cores >= 4 ? Math.min(4, cores - 2) : 0;
}

type Answer = Extract<ParseReply, { items: WireItem[] }>;

interface Pending {
  resolve(answer: Answer): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

/** A rough size of one item in an ingest body, to judge its item count before it is parsed. */
const BYTES_PER_ITEM = 250;

const workerModule = new URL(
  import.meta.url.endsWith('.ts') ? './parseWorker.ts' : './parseWorker.js',
  import.meta.url,
).href;

/**
 * Parses batches in worker threads, so that the event loop (which decides, seals and appends, and serves
 * every other request) spends no time on schema validation: with several requests in flight, the next
 * batch is parsed while the current one is appended. A batch is split into chunks over the workers; the
 * answer is exactly what parseItems gives in process (same items, same errors with index, field and value).
 * Each item's data comes back as its canonical JSON text, carried on to the hash and the store (NewEvent.dataText).
 */
export function createParseWorkers(options: ParseWorkersOptions): ItemParser {
  const minItems = options.minItems ?? 32;
  const minChunk = options.minChunk ?? 200;
  let nextJob = 0;
  let closed = false;
  const slots: Slot[] = [];

  const spawn = (): Slot => {
    const worker = new Worker(new URL('../core/workerBootstrap.mjs', import.meta.url), {
      workerData: { module: workerModule },
    });
    // Idle workers must not keep a process alive that has nothing else to do.
    worker.unref();
    const slot: Slot = { worker, pending: new Map() };
    worker.on('message', (reply: ParseReply) => {
      const pending = slot.pending.get(reply.job);
      if (!pending) return;
      slot.pending.delete(reply.job);
      if ('error' in reply) pending.reject(errorFromWire(reply.error));
      else pending.resolve(reply);
    });
    const fail = (error: Error) => {
      for (const p of slot.pending.values()) p.reject(error);
      slot.pending.clear();
      // A dead worker is replaced, so one crash does not take parsing down for good.
      const at = slots.indexOf(slot);
      if (at >= 0 && !closed) slots[at] = spawn();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (!closed) fail(new Error(`a parse worker exited with code ${code}`));
    });
    return slot;
  };
  for (let i = 0; i < options.workers; i++) slots.push(spawn());

  const run = (slot: Slot, job: ParseJob) =>
    new Promise<Answer>((resolve, reject) => {
      slot.pending.set(job.job, { resolve, reject });
      // The worker keeps the process alive while it owes an answer.
      slot.worker.ref();
      slot.worker.postMessage(job);
    }).finally(() => {
      if (slot.pending.size === 0) slot.worker.unref();
    });

  /** Runs one job per chunk and answers in chunk order; a failure is the first failing chunk's (lowest index). */
  const runChunks = async (jobs: ParseJob[]): Promise<Answer[]> => {
    // Least busy first, so concurrent batches spread over the workers.
    const order = [...slots].sort((a, b) => a.pending.size - b.pending.size);
    const settled = await Promise.allSettled(jobs.map((job, c) => run(order[c % order.length]!, job)));
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((s) => (s as PromiseFulfilledResult<Answer>).value);
  };
  /** Into how many chunks a batch of n items is split: all workers when they are idle, else one. */
  const chunksFor = (n: number) => {
    const busy = slots.some((s) => s.pending.size > 0);
    return busy ? 1 : Math.max(1, Math.min(slots.length, Math.floor(n / minChunk)));
  };
  const inProcess = () => slots.length === 0 || closed;

  return {
    async parse(city, items, now) {
      if (inProcess() || items.length < minItems) return parseItems(city, items, now);
      const chunks = chunksFor(items.length);
      const size = Math.ceil(items.length / chunks);
      const answers = await runChunks(
        Array.from({ length: chunks }, (_, c) => ({
          kind: 'items' as const,
          job: nextJob++,
          city,
          nowMs: now.getTime(),
          offset: c * size,
          items: items.slice(c * size, (c + 1) * size) as unknown[],
        })),
      );
      return answers.flatMap((a) => a.items.map(fromWire));
    },
    async parseBody(city, text, now, maxBatch) {
      // A small body is not worth the round trip; its item count is known only once parsed: judged by length.
      const estimate = Math.floor(text.length / BYTES_PER_ITEM);
      if (inProcess() || estimate < minItems) return parseBatchBody(city, text, now, maxBatch);
      // Every worker of a split reads the whole text (a copy is cheap) and parses its share of the items.
      const chunks = chunksFor(estimate);
      const job = (part: number): ParseJob => ({
        kind: 'body',
        job: nextJob++,
        city,
        nowMs: now.getTime(),
        text,
        maxBatch,
        share: [part, chunks],
      });
      const jobs = Array.from({ length: chunks }, (_, c) => job(c));
      return toBody(await runChunks(jobs));
    },
    async close() {
      closed = true;
      // Batches still being parsed are answered, not left hanging: the service is going away.
      for (const slot of slots) {
        for (const p of slot.pending.values()) p.reject(new UnavailableError('The server is shutting down'));
        slot.pending.clear();
      }
      await Promise.all(slots.map((s) => s.worker.terminate()));
      slots.length = 0;
    },
  };
}

/** The answers of a body's chunks, in order, as one parsed body. */
function toBody(answers: Answer[]): ParsedBody {
  const first = answers[0]!;
  return {
    items: answers.flatMap((a) => a.items.map(fromWire)),
    size: first.size ?? 0,
    source: first.source,
    reason: first.reason,
  };
}

/** A worker's item as the pipeline's ParsedItem; its data is parsed from, and carries, its canonical text. */
function fromWire(item: WireItem): ParsedItem {
  return {
    index: item.index,
    id: item.id,
    idGiven: item.idGiven,
    event: { type: item.type, data: JSON.parse(item.dataText) } as DomainEvent,
    dataText: item.dataText,
    kind: item.kind,
    entityId: item.entityId,
    stream: item.stream,
    occurredAt: item.occurredAt,
    reason: item.reason,
  };
}
