/**
 * The HTTP client of the ingest benchmark, in its own process as a real feeder would be, so that building
 * requests and reading answers does not run on the server's core. Driven over IPC by bench/workloads/ingest.ts:
 * it receives `{url, headers, file}` where `file` holds one request body per line, posts them one after the
 * other (each batch waits for the previous answer, as a feeder whose batches depend on each other must),
 * and answers `{ok, seconds, latencies}` or `{ok: false, error}`.
 */
import { readFileSync } from 'node:fs';

interface Command {
  url: string;
  headers: Record<string, string>;
  file: string;
}

process.on('message', async ({ url, headers, file }: Command) => {
  try {
    const bodies = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    const latencies: number[] = [];
    const started = process.hrtime.bigint();
    for (const body of bodies) {
      const sent = process.hrtime.bigint();
      const res = await fetch(url, { method: 'POST', headers, body });
      const text = await res.text();
      if (res.status !== 201) throw new Error(`ingest answered ${res.status}: ${text.slice(0, 500)}`);
      latencies.push(Number(process.hrtime.bigint() - sent) / 1e6);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    process.send?.({ ok: true, seconds, latencies }, () => process.exit(0));
  } catch (error) {
    process.send?.({ ok: false, error: (error as Error).message }, () => process.exit(1));
  }
});
