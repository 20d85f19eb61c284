/**
 * Live twin fan-out: 5,000 vehicle position reports per second ingested over HTTP (POST .../events, batches of
 * 100, through the writer into SQLite), projected by the twin and pushed by /live to 500 socket.io-client
 * consoles, each subscribed to one tenth of the city (~500 updates/s each), for 60 s x scale, after a warm-up
 * of the same feed (10 s x scale, at least 3 s) whose latencies are reported apart. Four
 * processes besides this one, so that the server's figures are its own: the server under test
 * (liveServer.ts), the HTTP feeder (livePoster.ts) and two processes of 250 consoles each (liveClients.ts).
 * Measured: p99 latency from the report's `occurredAt` (stamped when its request is built) to the console,
 * gaps and duplicates (each console checks every message's continuity), the server's RSS after a forced GC
 * at the start and the end of the phase. Baseline in the same run, on the same server and consoles: the same
 * kind of updates, batched per 100 ms, broadcast raw with socket.io rooms (no HTTP, no store, no twin).
 * `LIVE_BENCH_CPU_PROF=<dir>` writes CPU profiles of the processes in its subfolders server/, consoles0/,
 * consoles1/ and feeder/ (the main thread's is the one with the larger file; the other is the module loader's).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchResult, result, type Workload } from '../harness.js';
import { BATCH, CITY, CLIENTS, RATE, sleep, TILES } from './liveCity.js';

function ask<T>(child: ChildProcess, command: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    if (!child.connected) return reject(new Error(`child exited with ${child.exitCode}`));
    const onExit = (code: number | null) => reject(new Error(`child exited with ${code}`));
    child.once('exit', onExit);
    child.once('message', (reply: { ok: boolean; error?: string }) => {
      child.off('exit', onExit);
      if (reply.ok) resolve(reply as T);
      else reject(new Error(reply.error));
    });
    child.send(command as object);
  });
}

interface Report {
  samples: number;
  messages: number;
  /** The console processes' CPU time (µs) and the characters they received, since they connected. */
  cpuMicros: number;
  wireBytes: number;
  p50: number;
  p99: number;
  gaps: number;
  duplicates: number;
  resyncs: number;
}

interface ConsoleReport extends Omit<Report, 'p50' | 'p99'> {
  histogram: Array<[number, number]>;
}

/** One report from the console processes' own: counts added, latency percentiles of the merged histogram. */
function merge(reports: ConsoleReport[]): Report {
  const histogram = new Map<number, number>();
  for (const r of reports) for (const [ms, n] of r.histogram) histogram.set(ms, (histogram.get(ms) ?? 0) + n);
  const buckets = [...histogram].sort((a, b) => a[0] - b[0]);
  const samples = reports.reduce((n, r) => n + r.samples, 0);
  const percentileOf = (p: number) => {
    const rank = Math.ceil((p / 100) * samples);
    let seen = 0;
    for (const [ms, n] of buckets) {
      seen += n;
      if (seen >= rank && rank > 0) return ms;
    }
    return Number.NaN;
  };
  const sum = (key: 'messages' | 'gaps' | 'duplicates' | 'resyncs' | 'cpuMicros' | 'wireBytes') =>
    reports.reduce((n, r) => n + r[key], 0);
  return {
    samples,
    messages: sum('messages'),
    cpuMicros: sum('cpuMicros'),
    wireBytes: sum('wireBytes'),
    p50: percentileOf(50),
    p99: percentileOf(99),
    gaps: sum('gaps'),
    duplicates: sum('duplicates'),
    resyncs: sum('resyncs'),
  };
}

/** Console processes: 500 socket.io clients parsing whole features need more than one core's worth of JSON.parse. */
const CONSOLE_PROCESSES = 2;

const here = dirname(fileURLToPath(import.meta.url));
const spawn = (script: string, flags: string[] = []) =>
  fork(join(here, script), { execArgv: [...flags, '--import', 'tsx'], stdio: 'inherit' });

export const liveWorkload: Workload = {
  name: 'live',
  description:
    '5,000 position reports/s over HTTP -> twin -> /live to 500 consoles (a tenth of the city each) vs a raw socket.io room broadcast',
  async run({ scale }) {
    const seconds = Math.max(5, Math.round(60 * scale));
    // A fresh server compiles its ingest, twin and /live paths during the first seconds of traffic, and the
    // backlog it builds meanwhile takes seconds to drain (measured with 125 consoles: 78 % and 46 % of the
    // updates of the first two 2-s windows over 250 ms, none after): the baseline's path is warm when it runs.
    const warmupSeconds = Math.max(3, Math.round(10 * scale));
    const baselineSeconds = Math.max(3, Math.round(20 * scale));
    const profile = process.env.LIVE_BENCH_CPU_PROF;
    const prof = (name: string) => (profile ? ['--cpu-prof', `--cpu-prof-dir=${join(profile, name)}`] : []);
    // The server runs with the young generation `npm start` gives it (package.json): committed at start-up.
    const server = spawn('liveServer.ts', [
      '--expose-gc',
      '--min-semi-space-size=64',
      '--max-semi-space-size=64',
      ...prof('server'),
    ]);
    const consoles = Array.from({ length: CONSOLE_PROCESSES }, (_, i) =>
      spawn('liveClients.ts', prof(`consoles${i}`)),
    );
    const poster = spawn('livePoster.ts', prof('feeder'));
    const rows: BenchResult[] = [];
    const each = Math.ceil(CLIENTS / CONSOLE_PROCESSES);
    const connect = (mode: 'live' | 'raw', token: string, url: string) =>
      Promise.all(
        consoles.map((child, i) =>
          ask(child, {
            cmd: 'connect',
            mode,
            url,
            token,
            city: CITY,
            tiles: TILES,
            clients: Math.min(each, CLIENTS - i * each),
            first: i * each,
          }),
        ),
      );
    const report = async () =>
      merge(await Promise.all(consoles.map((c) => ask<ConsoleReport>(c, { cmd: 'report' }))));
    const disconnect = () => Promise.all(consoles.map((c) => ask(c, { cmd: 'close' })));
    const memory = (gc: boolean, resetLoopDelay = false) =>
      ask<{
        rss: number;
        heap: number;
        heapTotal: number;
        cpuMicros: number;
        loopDelayP99Ms: number;
        loopDelayMaxMs: number;
      }>(server, { cmd: 'rss', gc, resetLoopDelay });
    const rss = async (gc: boolean) => (await memory(gc)).rss;
    try {
      const { url, operator, viewer } = await ask<{ url: string; operator: string; viewer: string }>(server, {
        cmd: 'start',
      });

      // ---- the live twin, fed over HTTP ------------------------------------------------------------
      const { cpuMicros: cpuBeforeConnect } = await memory(false);
      await connect('live', viewer, url);
      const { cpuMicros: cpuAfterConnect } = await memory(false);
      // RSS at the start is read before the warm-up, so that what the warm-up leaves counts as growth.
      const { rss: rssStart, heap: heapStart, heapTotal: heapTotalStart } = await memory(true);
      const rssSamples: number[] = [rssStart];
      const warm = await ask<{ failed: number }>(poster, { url, token: operator, seconds: warmupSeconds });
      if (warm.failed > 0) throw new Error(`the warm-up's ingest failed ${warm.failed} times`);
      await ask(server, { cmd: 'drain' });
      await sleep(500);
      const warmupReport = await report();
      await Promise.all(consoles.map((c) => ask(c, { cmd: 'reset' })));
      const { cpuMicros: cpuAtIngestStart } = await memory(false, true);
      let posting = true;
      const posted = ask<{
        sent: number;
        failed: number;
        failures: Record<string, number>;
        seconds: number;
      }>(poster, {
        url,
        token: operator,
        seconds,
      }).finally(() => {
        posting = false;
      });
      while (posting) {
        await sleep(1_000);
        if (posting) rssSamples.push(await rss(false));
      }
      const { sent, failed, failures, seconds: ingestSeconds } = await posted;
      const { cpuMicros: cpuAtIngestEnd, loopDelayP99Ms, loopDelayMaxMs } = await memory(false);
      if (failed > 0) console.log(`  (rejected ingest requests by status: ${JSON.stringify(failures)})`);
      const drainStart = Date.now();
      await ask(server, { cmd: 'drain' });
      const backlogMs = Date.now() - drainStart;
      await sleep(1_000);
      const { rss: rssEnd, heap: heapEnd, heapTotal: heapTotalEnd } = await memory(true);
      const fanOut = await ask<{ groups: number; sharedSends: number; ownSends: number }>(server, {
        cmd: 'drain',
      });
      const liveReport = await report();
      await disconnect();

      // ---- the gateway alone: the same reports appended through the store port (no HTTP, no writer) ----
      await connect('live', viewer, url);
      const port = await ask<{ sent: number; seconds: number; cpuMicros: number }>(server, {
        cmd: 'port',
        seconds: baselineSeconds,
      });
      await sleep(1_000);
      const portReport = await report();
      await disconnect();

      // ---- the baseline: the same kind of updates, raw, per 100 ms, to rooms --------------------------
      await connect('raw', viewer, url);
      const base = await ask<{ sent: number; seconds: number; cpuMicros: number }>(server, {
        cmd: 'raw',
        seconds: baselineSeconds,
      });
      await sleep(1_000);
      const baseReport = await report();
      await disconnect();

      const liveRate = liveReport.samples / ingestSeconds;
      const baseRate = baseReport.samples / base.seconds;
      rows.push(
        result({
          workload: 'live',
          metric: 'p99 ingest-to-console latency',
          value: liveReport.p99,
          unit: 'ms',
          baseline: baseReport.p99,
          goal: '< 250 ms',
          met: liveReport.p99 < 250,
        }),
        result({
          workload: 'live',
          metric: `p99 ingest-to-console latency in the warm-up (the server's first ${warmupSeconds} s of traffic)`,
          value: warmupReport.p99,
          unit: 'ms',
          baseline: baseReport.p99,
        }),
        result({
          workload: 'live',
          metric: 'p99 store-to-console latency (port appends, no HTTP)',
          value: portReport.p99,
          unit: 'ms',
          baseline: baseReport.p99,
        }),
        result({
          workload: 'live',
          metric: 'update deliveries per second (port appends)',
          value: portReport.samples / port.seconds,
          unit: '/s',
          baseline: null,
        }),
        result({
          workload: 'live',
          metric: 'server CPU per update delivered (port appends: store, twin, /live; baseline: raw)',
          value: port.cpuMicros / Math.max(1, portReport.samples),
          unit: 'µs',
          baseline: base.cpuMicros / Math.max(1, baseReport.samples),
        }),
        result({
          workload: 'live',
          metric: 'console CPU per update delivered (baseline: raw)',
          value: liveReport.cpuMicros / Math.max(1, liveReport.samples),
          unit: 'µs',
          baseline: baseReport.cpuMicros / Math.max(1, baseReport.samples),
        }),
        result({
          workload: 'live',
          metric: 'wire bytes per update delivered (baseline: raw)',
          value: liveReport.wireBytes / Math.max(1, liveReport.samples),
          unit: 'B',
          baseline: baseReport.wireBytes / Math.max(1, baseReport.samples),
        }),
        result({
          workload: 'live',
          metric: 'server CPU per subscription started (handshake, subscribe, snapshot of its tenth)',
          value: (cpuAfterConnect - cpuBeforeConnect) / 1_000 / CLIENTS,
          unit: 'ms',
          baseline: null,
        }),
        result({
          workload: 'live',
          metric: 'gaps + duplicates (port appends)',
          value: portReport.gaps + portReport.duplicates,
          unit: 'count',
          baseline: null,
          goal: '0',
          met: portReport.gaps + portReport.duplicates === 0,
        }),
        result({
          workload: 'live',
          metric: 'p50 ingest-to-console latency',
          value: liveReport.p50,
          unit: 'ms',
          baseline: baseReport.p50,
        }),
        result({
          workload: 'live',
          metric: 'update deliveries per second',
          value: liveRate,
          unit: '/s',
          baseline: baseRate,
        }),
        result({
          workload: 'live',
          metric: 'ingested reports per second (target 5,000)',
          value: (sent - failed * BATCH) / ingestSeconds,
          unit: '/s',
          baseline: RATE,
        }),
        result({
          workload: 'live',
          // Where the machine's two cores go while the feeder runs (baseline: the consoles' share).
          metric: 'cores busy in the HTTP phase: server (baseline: consoles)',
          value: (cpuAtIngestEnd - cpuAtIngestStart) / 1e6 / ingestSeconds,
          unit: 'cores',
          baseline: liveReport.cpuMicros / 1e6 / ingestSeconds,
        }),
        result({
          workload: 'live',
          metric: `server event-loop delay p99 in the HTTP phase (max ${Math.round(loopDelayMaxMs)} ms)`,
          value: loopDelayP99Ms,
          unit: 'ms',
          baseline: null,
        }),
        result({
          workload: 'live',
          metric: 'twin backlog when the feeder stopped (time to apply it)',
          value: backlogMs,
          unit: 'ms',
          baseline: null,
        }),
        result({
          workload: 'live',
          metric: 'rejected ingest requests',
          value: failed,
          unit: 'requests',
          baseline: null,
        }),
        result({
          workload: 'live',
          metric: 'gaps (warm-up and run)',
          value: liveReport.gaps,
          unit: 'count',
          baseline: null,
          goal: '0',
          met: liveReport.gaps === 0,
        }),
        result({
          workload: 'live',
          metric: 'duplicates (warm-up and run)',
          value: liveReport.duplicates,
          unit: 'count',
          baseline: null,
          goal: '0',
          met: liveReport.duplicates === 0,
        }),
        result({
          workload: 'live',
          metric: `changes messages sent as a shared frame (${fanOut.groups} filter groups)`,
          value: (100 * fanOut.sharedSends) / Math.max(1, fanOut.sharedSends + fanOut.ownSends),
          unit: '%',
          baseline: null,
        }),
        result({
          workload: 'live',
          metric: 'slow-consumer resyncs',
          value: liveReport.resyncs,
          unit: 'count',
          baseline: null,
        }),
        result({
          workload: 'live',
          metric: 'server RSS after GC at start',
          value: rssStart,
          unit: 'MB',
          baseline: null,
        }),
        result({
          workload: 'live',
          metric: `server RSS after GC at end (${seconds} s; max ${Math.max(...rssSamples)} MB)`,
          value: rssEnd,
          unit: 'MB',
          baseline: rssStart,
          goal: 'flat (< 1.5x start)',
          met: rssEnd < rssStart * 1.5,
        }),
        result({
          workload: 'live',
          metric: 'server JS heap used after GC, end (baseline: start)',
          value: heapEnd,
          unit: 'MB',
          baseline: heapStart,
        }),
        result({
          workload: 'live',
          // What V8 keeps committed for its heap (part of the RSS) beside what is in use.
          metric: 'server JS heap committed after GC, end (baseline: start)',
          value: heapTotalEnd,
          unit: 'MB',
          baseline: heapTotalStart,
        }),
      );
    } finally {
      // Asked to exit rather than killed, so that their CPU profiles (when asked for) are written.
      for (const c of consoles) await ask(c, { cmd: 'exit' }).catch(() => c.kill());
      poster.send({ exit: true });
      // The server exits by itself once closed (writing its CPU profile when one was asked for).
      await ask(server, { cmd: 'close' }).catch(() => server.kill());
    }
    return rows;
  },
};
