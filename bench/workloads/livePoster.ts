/**
 * The HTTP feeder of the live benchmark, in its own process (as the vehicles' gateway would be), so that
 * building requests and reading answers does not run on the server's core. Driven over IPC by
 * bench/workloads/live.ts: `{url, token, seconds}` posts RATE position reports per second in batches of
 * BATCH for `seconds` (at most 16 requests open at a time, each report's `occurredAt` stamped when its
 * request is built), waits for the open requests, and answers `{ok, sent, failed, failures, seconds}`
 * (`failures`: count per HTTP status).
 */
import { Agent } from 'node:http';
import { post as postOnce } from './httpPost.js';
import { BATCH, CITY, fleet, RATE, sleep } from './liveCity.js';

interface Command {
  url: string;
  token: string;
  seconds: number;
  /** Exit (after the run), so that a CPU profile, when asked for, is written. */
  exit?: boolean;
}

// One walk across the runs a process is asked for (the warm-up, then the measured run): vehicles go on
// from where they were instead of jumping back to their first positions.
const vehicles = fleet(7);

process.on('message', async ({ url, token, seconds, exit }: Command) => {
  if (exit) process.exit(0);
  try {
    const started = Date.now();
    let sent = 0;
    let inFlight = 0;
    let failed = 0;
    /** Why requests failed: HTTP status (or 'network') and count, so a failing run says why. */
    const failures: Record<string, number> = {};
    const fail = (why: string) => {
      failed++;
      failures[why] = (failures[why] ?? 0) + 1;
    };
    // Up to 16 kept-alive connections, one per request open at a time (see httpPost.ts).
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    const post = async (body: string) => {
      inFlight++;
      try {
        const { status } = await postOnce(`${url}/api/v1/cities/${CITY}/events`, headers, body, agent);
        if (status !== 201) fail(String(status));
      } catch {
        fail('network');
      } finally {
        inFlight--;
      }
    };
    while (Date.now() - started < seconds * 1_000) {
      const due = Math.floor(((Date.now() - started) / 1_000) * RATE);
      while (sent + BATCH <= due && inFlight < 16) {
        const occurredAt = new Date().toISOString();
        const events = Array.from({ length: BATCH }, () => {
          const v = vehicles.next();
          return {
            type: 'VehiclePositionReported',
            entityId: v.id,
            data: { location: { type: 'Point', coordinates: [v.lon, v.lat] } },
            occurredAt,
          };
        });
        void post(JSON.stringify({ source: 'bench', events }));
        sent += BATCH;
      }
      await sleep(2);
    }
    while (inFlight > 0) await sleep(5);
    agent.destroy();
    process.send?.({ ok: true, sent, failed, failures, seconds: (Date.now() - started) / 1_000 });
  } catch (error) {
    process.send?.({ ok: false, error: (error as Error).message });
  }
});
