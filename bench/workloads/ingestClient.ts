/**
 * The HTTP client of the ingest benchmark, in its own process as a real feeder would be, so that building
 * requests and reading answers does not run on the server's core. Driven over IPC by bench/workloads/ingest.ts:
 * it receives `{url, headers, prelude?, files}` where each file holds one feeder's request bodies, one per line. Each
 * feeder posts its bodies one after the other (a batch waits for the previous answer, as a feeder whose
 * batches depend on each other must); the feeders run side by side. Answers `{ok, seconds, latencies,
 * cpuSeconds}` (seconds: until the last feeder is done; cpuSeconds: this process's CPU meanwhile) or
 * `{ok: false, error}`.
 */
import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { post } from './httpPost.js';

interface Command {
  url: string;
  headers: Record<string, string>;
  /** Posted first, alone (the city's own events, which every feeder's events need). */
  prelude?: string;
  files: string[];
}

process.on('message', async ({ url, headers, prelude, files }: Command) => {
  try {
    const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);
    const feeds = files.map(lines);
    const latencies: number[] = [];
    // One connection per feeder, kept alive, as a feeder posting batch after batch holds one.
    const feed = async (bodies: string[]) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      for (const body of bodies) {
        const sent = process.hrtime.bigint();
        const { status, text } = await post(url, headers, body, agent);
        if (status !== 201) throw new Error(`ingest answered ${status}: ${text.slice(0, 500)}`);
        latencies.push(Number(process.hrtime.bigint() - sent) / 1e6);
      }
      agent.destroy();
    };
    const started = process.hrtime.bigint();
    const cpuAtStart = process.cpuUsage();
    if (prelude) await feed(lines(prelude));
    await Promise.all(feeds.map(feed));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpuAtStart);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    process.send?.({ ok: true, seconds, latencies, cpuSeconds }, () => process.exit(0));
  } catch (error) {
    process.send?.({ ok: false, error: (error as Error).message }, () => process.exit(1));
  }
});
