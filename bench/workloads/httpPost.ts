/**
 * The benchmarks' HTTP feeders post with this: node:http over a kept-alive connection rather than fetch,
 * because a feeder shares the machine's two cores with the server it measures, and undici's fetch costs it
 * about twice the CPU per request (ingest feeder: 0.15-0.17 -> 0.08-0.09 cores).
 */
import { type Agent, request } from 'node:http';

/** One POST; answers the status and the body as text. */
export function post(url: string, headers: Record<string, string>, body: string, agent: Agent) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
