/**
 * EventStoreDB's `event_store.client.streams.Streams` gRPC service (Read, Append, BatchAppend) over a
 * TransactionLog, for the real `@eventstore/db-client` to talk to in tests.
 *
 * Semantics (EventStoreDB documentation, https://developers.eventstore.com/clients/grpc/):
 * - stream reads start AT the given revision, forwards or backwards; a missing stream answers `stream_not_found`;
 * - $all reads forwards start AT the given position; $all reads backwards return the events BEFORE the given
 *   position (the chunk reader's backward read takes the record that ends at the position, so the record that
 *   starts there is not part of it);
 * - subscriptions confirm first, start AFTER the given position, send the historical events, then `caught_up`
 *   (servers since 23.10 do, EventStore PR #3899), then live events; filtered ones send `checkpoint` messages
 *   every `max window x multiplier` scanned events;
 * - every event carries its $all position, also in stream reads (servers since 22.10, EventStore PR #3459).
 */
import { randomUUID } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import {
  AnyCtor,
  codePb,
  GoogleEmpty,
  sharedPb,
  statusPb,
  streamIdentifier,
  streamName,
  streamsPb,
  uuidMessage,
  uuidText,
} from './protocol.js';
import type { Expected, LogRecord, ProposedEvent, TransactionLog, WriteOutcome } from './transactionLog.js';

type ReadReq = InstanceType<typeof streamsPb.ReadReq>;
type ReadResp = InstanceType<typeof streamsPb.ReadResp>;
type AppendReq = InstanceType<typeof streamsPb.AppendReq>;
type AppendResp = InstanceType<typeof streamsPb.AppendResp>;
type BatchAppendReq = InstanceType<typeof streamsPb.BatchAppendReq>;
type BatchAppendResp = InstanceType<typeof streamsPb.BatchAppendResp>;
type FilterOptions = InstanceType<typeof streamsPb.ReadReq.Options.FilterOptions>;
type ProposedMessage =
  | InstanceType<typeof streamsPb.AppendReq.ProposedMessage>
  | InstanceType<typeof streamsPb.BatchAppendReq.ProposedMessage>;

const Options = streamsPb.ReadReq.Options;
const MAX_COUNT = BigInt(Number.MAX_SAFE_INTEGER);
/** Default filter search window, as the server's (`maxSearchWindow` 32). */
const DEFAULT_WINDOW = 32;

export interface StreamsServiceOptions {
  /**
   * By default an idempotent append is answered with the position of the original last event, as a fresh
   * append is (chosen: the documentation only promises the revisions). With this set it is answered
   * without a position (as if the server did not report where the original events
   * landed), so a test can prove the adapter does not depend on it.
   */
  omitIdempotentPosition?: boolean;
}

/** How many reads and appends the service has answered (BatchAppend: per append, not per call), so tests can
 * tell which client path ran. */
export interface CallCounts {
  read: number;
  append: number;
  batchAppend: number;
}

export function createStreamsService(
  log: TransactionLog,
  options: StreamsServiceOptions = {},
  calls: CallCounts = { read: 0, append: 0, batchAppend: 0 },
) {
  return {
    read: (call: grpc.ServerWritableStream<ReadReq, ReadResp>) => {
      calls.read++;
      void handleRead(log, call).catch((error: unknown) => {
        call.destroy(error as Error);
      });
    },
    append: (
      call: grpc.ServerReadableStream<AppendReq, AppendResp>,
      callback: grpc.sendUnaryData<AppendResp>,
    ) => {
      calls.append++;
      handleAppend(log, options, call, callback);
    },
    batchAppend: (call: grpc.ServerDuplexStream<BatchAppendReq, BatchAppendResp>) =>
      handleBatchAppend(log, options, call, () => calls.batchAppend++),
    delete: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => unimplemented(callback, 'Delete'),
    tombstone: (_call: unknown, callback: grpc.sendUnaryData<unknown>) =>
      unimplemented(callback, 'Tombstone'),
  };
}

function unimplemented(callback: grpc.sendUnaryData<unknown>, method: string) {
  // 12 = UNIMPLEMENTED: the adapter never deletes streams, so the double does not model deletion.
  callback({
    code: 12,
    details: `${method} is not implemented by the test server`,
    name: 'Error',
    message: method,
  });
}

// ---------------------------------------------------------------------------------------------- Read

/** The Read method's response serializer, accepting messages already encoded to bytes. */
export function serializeReadResp(message: ReadResp | Buffer): Buffer {
  return Buffer.isBuffer(message) ? message : Buffer.from(message.serializeBinary());
}

/** Writes one message, waiting for the socket to drain first when grpc-js asks for it. */
async function send(
  call: grpc.ServerWritableStream<ReadReq, ReadResp>,
  message: ReadResp,
  signal: AbortSignal,
) {
  if (signal.aborted) return;
  if (call.write(message)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      call.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    call.on('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Each record's wire bytes are built once: reads of the same events (10k-event tests) then cost no protobuf work. */
const encoded = new WeakMap<LogRecord, Buffer>();

function eventMessage(record: LogRecord): ReadResp {
  let bytes = encoded.get(record);
  if (!bytes) {
    bytes = Buffer.from(buildEventMessage(record).serializeBinary());
    encoded.set(record, bytes);
  }
  // `serializeReadResp` passes pre-encoded messages through unchanged.
  return bytes as unknown as ReadResp;
}

function buildEventMessage(record: LogRecord): ReadResp {
  const recorded = new streamsPb.ReadResp.ReadEvent.RecordedEvent();
  recorded.setId(uuidMessage(record.id));
  recorded.setStreamIdentifier(streamIdentifier(record.stream));
  recorded.setStreamRevision(String(record.revision));
  recorded.setPreparePosition(String(record.position));
  recorded.setCommitPosition(String(record.position));
  const meta = recorded.getMetadataMap();
  meta.set('type', record.type);
  meta.set('content-type', record.contentType);
  meta.set('created', String(record.createdTicks));
  recorded.setData(record.data);
  recorded.setCustomMetadata(record.customMetadata);
  const readEvent = new streamsPb.ReadResp.ReadEvent();
  readEvent.setEvent(recorded);
  readEvent.setCommitPosition(String(record.position));
  const resp = new streamsPb.ReadResp();
  resp.setEvent(readEvent);
  return resp;
}

type Matcher = (record: LogRecord) => boolean;

/** Server-side filter: a prefix list (any prefix matches) or, when there is none, a regex (unanchored match). */
function filterMatcher(filter: FilterOptions | undefined): Matcher {
  if (!filter) return () => true;
  const onStream = filter.getFilterCase() === Options.FilterOptions.FilterCase.STREAM_IDENTIFIER;
  const expression = onStream ? filter.getStreamIdentifier() : filter.getEventType();
  if (!expression) return () => true;
  const value = (r: LogRecord) => (onStream ? r.stream : r.type);
  const prefixes = expression.getPrefixList();
  if (prefixes.length > 0) return (r) => prefixes.some((p) => value(r).startsWith(p));
  const regex = new RegExp(expression.getRegex());
  return (r) => regex.test(value(r));
}

async function handleRead(log: TransactionLog, call: grpc.ServerWritableStream<ReadReq, ReadResp>) {
  const abort = new AbortController();
  const stop = () => abort.abort();
  call.on('cancelled', stop);
  call.on('close', stop);
  call.on('error', stop);
  const signal = abort.signal;
  try {
    const options = call.request.getOptions();
    if (!options) throw Object.assign(new Error('ReadReq without options'), { code: 3 });
    const backwards = options.getReadDirection() === Options.ReadDirection.BACKWARDS;
    const filter =
      options.getFilterOptionCase() === Options.FilterOptionCase.FILTER ? options.getFilter() : undefined;
    const matches = filterMatcher(filter);
    const subscription = options.getCountOptionCase() === Options.CountOptionCase.SUBSCRIPTION;

    if (options.getStreamOptionCase() === Options.StreamOptionCase.STREAM) {
      if (subscription) throw Object.assign(new Error('stream subscriptions are not modelled'), { code: 12 });
      await readStream(log, call, options, backwards, signal);
    } else if (subscription) {
      await subscribeAll(log, call, options.getAll()!, filter, matches, signal);
      return; // ends only when the client cancels
    } else {
      await readAll(log, call, options, backwards, matches, signal);
    }
    if (!signal.aborted) call.end();
  } finally {
    call.off('cancelled', stop);
    abort.abort();
  }
}

function countOf(options: InstanceType<typeof Options>): number {
  const count = BigInt(options.getCount() || '0');
  return Number(count > MAX_COUNT ? MAX_COUNT : count);
}

async function readStream(
  log: TransactionLog,
  call: grpc.ServerWritableStream<ReadReq, ReadResp>,
  options: InstanceType<typeof Options>,
  backwards: boolean,
  signal: AbortSignal,
) {
  const streamOptions = options.getStream()!;
  const name = streamName(streamOptions.getStreamIdentifier());
  const events = log.streamEvents(name);
  if (!events || events.length === 0) {
    const notFound = new streamsPb.ReadResp.StreamNotFound();
    notFound.setStreamIdentifier(streamIdentifier(name));
    const resp = new streamsPb.ReadResp();
    resp.setStreamNotFound(notFound);
    await send(call, resp, signal);
    return;
  }
  const last = events.length - 1;
  const Case = Options.StreamOptions.RevisionOptionCase;
  let from: number;
  switch (streamOptions.getRevisionOptionCase()) {
    case Case.START:
      from = 0;
      break;
    case Case.END:
      from = backwards ? last : last + 1;
      break;
    default: {
      const revision = BigInt(streamOptions.getRevision());
      from = revision > BigInt(last + 1) ? last + 1 : Number(revision);
    }
  }
  let remaining = countOf(options);
  if (backwards) {
    for (let i = Math.min(from, last); i >= 0 && remaining > 0 && !signal.aborted; i--, remaining--) {
      await send(call, eventMessage(events[i]!), signal);
    }
  } else {
    for (let i = from; i <= last && remaining > 0 && !signal.aborted; i++, remaining--) {
      await send(call, eventMessage(events[i]!), signal);
    }
  }
}

/** Index of the first record a forward $all read or subscription looks at. */
function allStartIndex(log: TransactionLog, all: InstanceType<typeof Options.AllOptions>): number {
  switch (all.getAllOptionCase()) {
    case Options.AllOptions.AllOptionCase.START:
      return 0;
    case Options.AllOptions.AllOptionCase.END:
      return log.records.length;
    default:
      // Chosen: a position between two records starts at the next one. Servers since 23.10 refuse positions
      // that are not record boundaries (EventStore PRs #3963, #3991); the adapter only ever sends positions
      // it was given by the server, so it does not depend on either behaviour.
      return log.indexAtOrAfter(BigInt(all.getPosition()!.getCommitPosition()));
  }
}

async function readAll(
  log: TransactionLog,
  call: grpc.ServerWritableStream<ReadReq, ReadResp>,
  options: InstanceType<typeof Options>,
  backwards: boolean,
  matches: Matcher,
  signal: AbortSignal,
) {
  const all = options.getAll()!;
  let remaining = countOf(options);
  if (backwards) {
    // Backwards from a position: the records before it (see the file comment); from the end: all of them.
    const start = allStartIndex(log, all);
    for (let i = start - 1; i >= 0 && remaining > 0 && !signal.aborted; i--) {
      const record = log.records[i]!;
      if (!matches(record)) continue;
      await send(call, eventMessage(record), signal);
      remaining--;
    }
  } else {
    for (let i = allStartIndex(log, all); i < log.records.length && remaining > 0 && !signal.aborted; i++) {
      const record = log.records[i]!;
      if (!matches(record)) continue;
      await send(call, eventMessage(record), signal);
      remaining--;
    }
  }
}

async function subscribeAll(
  log: TransactionLog,
  call: grpc.ServerWritableStream<ReadReq, ReadResp>,
  all: InstanceType<typeof Options.AllOptions>,
  filter: FilterOptions | undefined,
  matches: Matcher,
  signal: AbortSignal,
) {
  const confirmation = new streamsPb.ReadResp.SubscriptionConfirmation();
  confirmation.setSubscriptionId(randomUUID());
  const confirm = new streamsPb.ReadResp();
  confirm.setConfirmation(confirmation);
  await send(call, confirm, signal);

  // Exclusive start: skip the record at the given position itself.
  let next = allStartIndex(log, all);
  if (all.getAllOptionCase() === Options.AllOptions.AllOptionCase.POSITION) {
    const position = BigInt(all.getPosition()!.getCommitPosition());
    if (log.records[next]?.position === position) next++;
  }
  const window =
    filter?.getWindowCase() === Options.FilterOptions.WindowCase.MAX ? filter.getMax() : DEFAULT_WINDOW;
  const checkpointEvery = filter ? window * Math.max(1, filter.getCheckpointintervalmultiplier()) : 0;
  let scannedSinceCheckpoint = 0;
  // The server sends caught-up when its catch-up reads reach the end of the log. Here that end is the log as
  // it was when the subscription arrived: the marker then promises what the server's does (everything that
  // existed before the subscription has been delivered), and a writer that keeps appending during the
  // catch-up cannot postpone it indefinitely, which with the real server's fast page reads does not happen
  // either.
  const liveFrom = log.records.length;
  let caughtUp = false;
  const markCaughtUp = async () => {
    caughtUp = true;
    const resp = new streamsPb.ReadResp();
    resp.setCaughtUp(new streamsPb.ReadResp.CaughtUp());
    await send(call, resp, signal);
  };

  while (!signal.aborted) {
    if (!caughtUp && next >= liveFrom) await markCaughtUp();
    while (next < log.records.length && !signal.aborted) {
      const record = log.records[next++]!;
      if (matches(record)) await send(call, eventMessage(record), signal);
      if (checkpointEvery > 0 && ++scannedSinceCheckpoint >= checkpointEvery) {
        scannedSinceCheckpoint = 0;
        const checkpoint = new streamsPb.ReadResp.Checkpoint();
        checkpoint.setCommitPosition(String(record.position));
        checkpoint.setPreparePosition(String(record.position));
        const resp = new streamsPb.ReadResp();
        resp.setCheckpoint(checkpoint);
        await send(call, resp, signal);
      }
      if (!caughtUp && next >= liveFrom) await markCaughtUp();
    }
    await log.waitForMore(next, signal);
  }
}

// -------------------------------------------------------------------------------------------- Append

function proposed(message: ProposedMessage): ProposedEvent {
  const meta = message.getMetadataMap();
  return {
    id: uuidText(message.getId()) ?? randomUUID(),
    type: meta.get('type') ?? '',
    contentType: meta.get('content-type') ?? 'application/octet-stream',
    data: message.getData_asU8(),
    customMetadata: message.getCustomMetadata_asU8(),
  };
}

function appendExpected(options: InstanceType<typeof streamsPb.AppendReq.Options>): Expected {
  const Case = streamsPb.AppendReq.Options.ExpectedStreamRevisionCase;
  switch (options.getExpectedStreamRevisionCase()) {
    case Case.REVISION:
      return { kind: 'revision', revision: Number(options.getRevision()) };
    case Case.NO_STREAM:
      return { kind: 'no_stream' };
    case Case.STREAM_EXISTS:
      return { kind: 'stream_exists' };
    default:
      return { kind: 'any' };
  }
}

function handleAppend(
  log: TransactionLog,
  serviceOptions: StreamsServiceOptions,
  call: grpc.ServerReadableStream<AppendReq, AppendResp>,
  callback: grpc.sendUnaryData<AppendResp>,
) {
  let header: InstanceType<typeof streamsPb.AppendReq.Options> | undefined;
  const events: ProposedEvent[] = [];
  call.on('data', (req: AppendReq) => {
    if (req.getContentCase() === streamsPb.AppendReq.ContentCase.OPTIONS) header = req.getOptions();
    else if (req.hasProposedMessage()) events.push(proposed(req.getProposedMessage()!));
  });
  call.on('error', () => {});
  call.on('end', () => {
    if (!header) {
      callback({ code: 3, details: 'Append without options', name: 'Error', message: 'no options' });
      return;
    }
    const expected = appendExpected(header);
    const outcome = log.write(streamName(header.getStreamIdentifier()), expected, events);
    callback(null, appendResponse(outcome, expected, serviceOptions));
  });
}

function appendResponse(outcome: WriteOutcome, expected: Expected, serviceOptions: StreamsServiceOptions) {
  const resp = new streamsPb.AppendResp();
  if (outcome.ok) {
    const success = new streamsPb.AppendResp.Success();
    if (outcome.currentRevision === undefined) success.setNoStream(new sharedPb.Empty());
    else success.setCurrentRevision(String(outcome.currentRevision));
    if (outcome.position === undefined || (outcome.idempotent && serviceOptions.omitIdempotentPosition)) {
      success.setNoPosition(new sharedPb.Empty());
    } else {
      const position = new streamsPb.AppendResp.Position();
      position.setCommitPosition(String(outcome.position));
      position.setPreparePosition(String(outcome.position));
      success.setPosition(position);
    }
    resp.setSuccess(success);
    return resp;
  }
  const wrong = new streamsPb.AppendResp.WrongExpectedVersion();
  if (outcome.currentRevision === undefined) wrong.setCurrentNoStream(new sharedPb.Empty());
  else wrong.setCurrentRevision(String(outcome.currentRevision));
  switch (expected.kind) {
    case 'any':
      wrong.setExpectedAny(new sharedPb.Empty());
      break;
    case 'no_stream':
      wrong.setExpectedNoStream(new sharedPb.Empty());
      break;
    case 'stream_exists':
      wrong.setExpectedStreamExists(new sharedPb.Empty());
      break;
    case 'revision':
      wrong.setExpectedRevision(String(expected.revision));
  }
  resp.setWrongExpectedVersion(wrong);
  return resp;
}

// ---------------------------------------------------------------------------------------- BatchAppend

interface PendingBatch {
  options: InstanceType<typeof streamsPb.BatchAppendReq.Options> | undefined;
  events: ProposedEvent[];
}

function batchExpected(options: InstanceType<typeof streamsPb.BatchAppendReq.Options>): Expected {
  const Case = streamsPb.BatchAppendReq.Options.ExpectedStreamPositionCase;
  switch (options.getExpectedStreamPositionCase()) {
    case Case.STREAM_POSITION:
      return { kind: 'revision', revision: Number(options.getStreamPosition()) };
    case Case.NO_STREAM:
      return { kind: 'no_stream' };
    case Case.STREAM_EXISTS:
      return { kind: 'stream_exists' };
    default:
      return { kind: 'any' };
  }
}

/**
 * One long-lived duplex call carries many appends, each split into chunks sharing a correlation id; the last
 * chunk has `is_final`. The reply echoes the correlation id and stream, with a success or a google.rpc.Status
 * whose details pack `event_store.client.WrongExpectedVersion` (what the client unpacks).
 */
function handleBatchAppend(
  log: TransactionLog,
  serviceOptions: StreamsServiceOptions,
  call: grpc.ServerDuplexStream<BatchAppendReq, BatchAppendResp>,
  counted: () => void,
) {
  const pending = new Map<string, PendingBatch>();
  call.on('data', (req: BatchAppendReq) => {
    const correlation = uuidText(req.getCorrelationId()) ?? '';
    let batch = pending.get(correlation);
    if (!batch) {
      batch = { options: undefined, events: [] };
      pending.set(correlation, batch);
    }
    if (req.hasOptions()) batch.options = req.getOptions();
    for (const message of req.getProposedMessagesList()) batch.events.push(proposed(message));
    if (!req.getIsFinal()) return;
    pending.delete(correlation);
    counted();
    if (!batch.options) return;
    const stream = streamName(batch.options.getStreamIdentifier());
    const expected = batchExpected(batch.options);
    const outcome = log.write(stream, expected, batch.events);
    call.write(batchResponse(req, batch.options, stream, outcome, expected, serviceOptions));
  });
  call.on('error', () => {});
  call.on('end', () => call.end());
}

function batchResponse(
  req: BatchAppendReq,
  options: InstanceType<typeof streamsPb.BatchAppendReq.Options>,
  stream: string,
  outcome: WriteOutcome,
  expected: Expected,
  serviceOptions: StreamsServiceOptions,
): BatchAppendResp {
  const resp = new streamsPb.BatchAppendResp();
  resp.setCorrelationId(req.getCorrelationId());
  resp.setStreamIdentifier(streamIdentifier(stream));
  switch (expected.kind) {
    case 'revision':
      resp.setStreamPosition(options.getStreamPosition());
      break;
    case 'no_stream':
      resp.setNoStream(new GoogleEmpty() as never);
      break;
    case 'stream_exists':
      resp.setStreamExists(new GoogleEmpty() as never);
      break;
    default:
      resp.setAny(new GoogleEmpty() as never);
  }
  if (outcome.ok) {
    const success = new streamsPb.BatchAppendResp.Success();
    if (outcome.currentRevision === undefined) success.setNoStream(new GoogleEmpty() as never);
    else success.setCurrentRevision(String(outcome.currentRevision));
    if (outcome.position === undefined || (outcome.idempotent && serviceOptions.omitIdempotentPosition)) {
      success.setNoPosition(new GoogleEmpty() as never);
    } else {
      const position = new sharedPb.AllStreamPosition();
      position.setCommitPosition(String(outcome.position));
      position.setPreparePosition(String(outcome.position));
      success.setPosition(position);
    }
    resp.setSuccess(success);
    return resp;
  }
  const wrong = new sharedPb.WrongExpectedVersion();
  if (outcome.currentRevision === undefined) wrong.setCurrentNoStream(new GoogleEmpty() as never);
  else wrong.setCurrentStreamRevision(String(outcome.currentRevision));
  switch (expected.kind) {
    case 'any':
      wrong.setExpectedAny(new GoogleEmpty() as never);
      break;
    case 'no_stream':
      wrong.setExpectedNoStream(new GoogleEmpty() as never);
      break;
    case 'stream_exists':
      wrong.setExpectedStreamExists(new GoogleEmpty() as never);
      break;
    case 'revision':
      wrong.setExpectedStreamPosition(String(expected.revision));
  }
  const details = new AnyCtor();
  details.pack(wrong.serializeBinary(), 'event_store.client.WrongExpectedVersion');
  const status = new statusPb.Status();
  status.setCode(codePb.Code.FAILED_PRECONDITION);
  status.setMessage('WrongExpectedVersion');
  status.setDetails(details as never);
  resp.setError(status);
  return resp;
}
