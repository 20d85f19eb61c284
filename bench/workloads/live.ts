/**
 * Live twin fan-out: 5,000 vehicle position reports per second ingested over HTTP (POST .../events, batches of
 * 100, through the writer into SQLite), projected by the twin and pushed by /live to 500 socket.io-client
 * consoles, each subscribed to one tenth of the city (~500 updates/s each), for 60 s x scale. Three
 * processes besides this one, so that the server's figures are its own: the server under test
 * (liveServer.ts), the HTTP feeder (livePoster.ts) and the consoles (liveClients.ts).
 * Measured: p99 latency from the report's `occurredAt` (stamped when its request is built) to the console,
 * gaps and duplicates (each console checks every message's continuity), the server's RSS after a forced GC
 * at the start and the end of the phase. Baseline in the same run, on the same server and consoles: the same
 * kind of updates, batched per 100 ms, broadcast raw with socket.io rooms (no HTTP, no store, no twin).
 * `LIVE_BENCH_CPU_PROF=<dir>` writes CPU profiles of the three processes in its subfolders server/, consoles/ and
 * feeder/ (the main thread's is the one with the larger file; the other is the module loader's).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchResult, result, type Workload } from '../harness.js';
import { BATCH, CITY, CLIENTS, RATE, sleep, TILES } from './liveCity.js';

function ask<T>(child: ChildProcess, command: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
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
  p50: number;
  p99: number;
  max: number;
  gaps: number;
  duplicates: number;
  resyncs: number;
}

const here = dirname(fileURLToPath(import.meta.url));
const spawn = (script: string, flags: string[] = []) =>
  fork(join(here, script), { execArgv: [...flags, '--import', 'tsx'], stdio: 'inherit' });

export const liveWorkload: Workload = {
  name: 'live',
  description:
    '5,000 position reports/s over HTTP -> twin -> /live to 500 consoles (a tenth of the city each) vs a raw socket.io room broadcast',
  async run({ scale }) {
    const seconds = Math.max(5, Math.round(60 * scale));
    const baselineSeconds = Math.max(3, Math.round(20 * scale));
    const profile = process.env.LIVE_BENCH_CPU_PROF;
    const prof = (name: string) => (profile ? ['--cpu-prof', `--cpu-prof-dir=${join(profile, name)}`] : []);
    const server = spawn('liveServer.ts', ['--expose-gc', ...prof('server')]);
    const consoles = spawn('liveClients.ts', prof('consoles'));
    const poster = spawn('livePoster.ts', prof('feeder'));
    const rows: BenchResult[] = [];
    const connect = (mode: 'live' | 'raw', token: string, url: string) =>
      ask(consoles, { cmd: 'connect', mode, url, token, city: CITY, tiles: TILES, clients: CLIENTS });
    const rss = async (gc: boolean) => (await ask<{ rss: number }>(server, { cmd: 'rss', gc })).rss;
    try {
      const { url, operator, viewer } = await ask<{ url: string; operator: string; viewer: string }>(server, {
        cmd: 'start',
      });

      // ---- the live twin, fed over HTTP ------------------------------------------------------------
      await connect('live', viewer, url);
      const rssStart = await rss(true);
      const rssSamples: number[] = [rssStart];
      let posting = true;
      const posted = ask<{ sent: number; failed: number; seconds: number }>(poster, {
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
      const { sent, failed, seconds: ingestSeconds } = await posted;
      await ask(server, { cmd: 'drain' });
      await sleep(1_000);
      const rssEnd = await rss(true);
      const liveReport = await ask<Report>(consoles, { cmd: 'report' });
      await ask(consoles, { cmd: 'close' });

      // ---- the gateway alone: the same reports appended through the store port (no HTTP, no writer) ----
      await connect('live', viewer, url);
      const port = await ask<{ sent: number; seconds: number }>(server, {
        cmd: 'port',
        seconds: baselineSeconds,
      });
      await sleep(1_000);
      const portReport = await ask<Report>(consoles, { cmd: 'report' });
      await ask(consoles, { cmd: 'close' });

      // ---- the baseline: the same kind of updates, raw, per 100 ms, to rooms --------------------------
      await connect('raw', viewer, url);
      const base = await ask<{ sent: number; seconds: number }>(server, {
        cmd: 'raw',
        seconds: baselineSeconds,
      });
      await sleep(1_000);
      const baseReport = await ask<Report>(consoles, { cmd: 'report' });
      await ask(consoles, { cmd: 'close' });

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
          metric: 'rejected ingest requests',
          value: failed,
          unit: 'requests',
          baseline: null,
        }),
        result({
          workload: 'live',
          metric: 'gaps',
          value: liveReport.gaps,
          unit: 'count',
          baseline: null,
          goal: '0',
          met: liveReport.gaps === 0,
        }),
        result({
          workload: 'live',
          metric: 'duplicates',
          value: liveReport.duplicates,
          unit: 'count',
          baseline: null,
          goal: '0',
          met: liveReport.duplicates === 0,
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
      );
    } finally {
      // Asked to exit rather than killed, so that their CPU profiles (when asked for) are written.
      await ask(consoles, { cmd: 'exit' }).catch(() => consoles.kill());
      poster.send({ exit: true });
      // The server exits by itself once closed (writing its CPU profile when one was asked for).
      await ask(server, { cmd: 'close' }).catch(() => server.kill());
    }
    return rows;
  },
};
