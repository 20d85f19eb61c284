/**
 * Consoles of the live benchmark, in their own process (so their JSON parsing does not run on the server's
 * core; the workload runs two such processes): socket.io-client connections driven over IPC by
 * bench/workloads/live.ts.
 * Commands: `connect` (live subscriptions or raw rooms), `report` (latency histogram in 1 ms buckets, gaps,
 * duplicates, the process's CPU time and the characters received since `connect` completed or the last
 * `reset`), `reset`, `close`, `exit`.
 */
import { io as connect, type Socket } from 'socket.io-client';
import { createClientView } from '../../src/realtime/clientView.js';
import type { ChangesMessage, SnapshotMessage } from '../../src/realtime/contract.js';

type BBox = [number, number, number, number];
type Command =
  | {
      cmd: 'connect';
      mode: 'live' | 'raw';
      url: string;
      token: string;
      city: string;
      tiles: BBox[];
      clients: number;
      /** The global index of this process's first console (consoles take tiles round-robin). */
      first: number;
    }
  | { cmd: 'report' }
  /** Starts the counts afresh (latencies, messages, CPU, wire), keeping the views: gaps and duplicates span it. */
  | { cmd: 'reset' }
  | { cmd: 'close' }
  | { cmd: 'exit' };

const BUCKET_MS = 1;
const MAX_MS = 60_000;
let histogram = new Uint32Array(MAX_MS / BUCKET_MS + 1);
let samples = 0;
let messages = 0;
let sockets: Socket[] = [];
/** CPU time and wire characters (bytes, for the ASCII JSON of the benchmark) since the last `connect` completed. */
let cpuAtConnect = process.cpuUsage();
let wireChars = 0;
let views: Array<ReturnType<typeof createClientView>> = [];

const digits = (s: string, from: number, to: number) => {
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + s.charCodeAt(i) - 48;
  return n;
};

/** Milliseconds of a `Date#toISOString` time, read off its digits (the measuring must not cost the consoles much). */
const isoMs = (s: string): number =>
  s.length === 24 && s.charCodeAt(23) === 90
    ? Date.UTC(
        digits(s, 0, 4),
        digits(s, 5, 7) - 1,
        digits(s, 8, 10),
        digits(s, 11, 13),
        digits(s, 14, 16),
        digits(s, 17, 19),
        digits(s, 20, 23),
      )
    : Date.parse(s);

const record = (latencyMs: number) => {
  const bucket = Math.min(histogram.length - 1, Math.max(0, Math.round(latencyMs / BUCKET_MS)));
  histogram[bucket] = (histogram[bucket] ?? 0) + 1;
  samples++;
};

/** Latencies, messages, CPU time and wire characters counted from now. */
function resetCounts() {
  histogram = new Uint32Array(MAX_MS / BUCKET_MS + 1);
  samples = 0;
  messages = 0;
  wireChars = 0;
  cpuAtConnect = process.cpuUsage();
}

async function connectAll(c: Extract<Command, { cmd: 'connect' }>) {
  resetCounts();

  const opened: Promise<void>[] = [];
  for (let i = 0; i < c.clients; i++) {
    const tile = (c.first + i) % c.tiles.length;
    const socket = connect(`${c.url}/${c.mode === 'live' ? 'live' : 'raw'}`, {
      auth: { token: c.token, tile },
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    sockets.push(socket);
    socket.io.on('open', () => {
      socket.io.engine.on('data', (data: unknown) => {
        wireChars += typeof data === 'string' ? data.length : (data as ArrayBuffer).byteLength;
      });
    });
    if (c.mode === 'raw') {
      socket.on('raw', (batch: Array<{ id: string; t: number }>) => {
        messages++;
        const now = Date.now();
        for (const u of batch) record(now - u.t);
      });
      opened.push(new Promise((resolve) => socket.once('ready', () => resolve())));
      continue;
    }
    const view = createClientView();
    views.push(view);
    socket.on('snapshot', (m: SnapshotMessage, ack: () => void) => {
      view.applySnapshot(m);
      ack();
    });
    socket.on('changes', (m: ChangesMessage, ack?: () => void) => {
      messages++;
      const now = Date.now();
      view.applyChanges(m);
      for (const change of m.changes) {
        if (change.op === 'moves') {
          // Moves of one request share their time (sent once, then null, which repeats the time before it):
          // read once, as the measuring must not cost the consoles much.
          let text = '';
          let ms = 0;
          for (const at of change.at) {
            if (at !== null && at !== text) {
              text = at;
              ms = isoMs(at);
            }
            record(now - ms);
          }
          continue;
        }
        const at =
          change.op === 'upsert'
            ? change.feature.properties.lastPositionAt
            : change.op === 'patch'
              ? change.properties?.lastPositionAt
              : undefined;
        if (typeof at === 'string') record(now - isoMs(at));
      }
      ack?.();
    });
    opened.push(
      new Promise((resolve, reject) => {
        socket.once('connect', () => {
          socket
            .emitWithAck('subscribe', { city: c.city, layers: ['mobility'], bbox: c.tiles[tile] })
            .then((ack: { ok: boolean; detail?: string }) => {
              if (!ack.ok) reject(new Error(ack.detail));
              const wait = () =>
                view.complete && view.position !== undefined ? resolve() : setTimeout(wait, 20);
              wait();
            }, reject);
        });
        socket.once('connect_error', reject);
      }),
    );
    // Opening hundreds of websockets at once overruns the server's accept queue on a small machine.
    if (i % 50 === 49) await Promise.all(opened.slice(-50));
  }
  await Promise.all(opened);
  // Counted from here: the updates, not the connections and their snapshots.
  resetCounts();
}

process.on('message', async (command: Command) => {
  try {
    if (command.cmd === 'connect') {
      await connectAll(command);
      process.send?.({ ok: true });
    } else if (command.cmd === 'report') {
      process.send?.({
        ok: true,
        samples,
        messages,
        cpuMicros: (({ user, system }) => user + system)(process.cpuUsage(cpuAtConnect)),
        wireBytes: wireChars,
        // Sparse: [bucket, count] pairs, merged with the other console processes' by the workload.
        histogram: [...histogram.entries()].filter(([, n]) => n > 0),
        gaps: views.reduce((n, v) => n + v.gaps.length, 0),
        duplicates: views.reduce((n, v) => n + v.duplicates.length, 0),
        resyncs: views.reduce((n, v) => n + v.resyncs, 0),
      });
    } else if (command.cmd === 'reset') {
      resetCounts();
      process.send?.({ ok: true });
    } else if (command.cmd === 'exit') {
      for (const s of sockets) s.close();
      process.send?.({ ok: true }, () => process.exit(0));
    } else {
      for (const s of sockets) s.close();
      sockets = [];
      views = [];
      process.send?.({ ok: true });
    }
  } catch (err) {
    process.send?.({ ok: false, error: String(err) });
  }
});
