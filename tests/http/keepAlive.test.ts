import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../../src/config.js';
import { createHttpServer } from '../../src/http/server.js';

/** Sends one kept-alive GET on a raw socket and resolves once the whole answer has arrived. */
function request(socket: Socket, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const onData = (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      if (answer.endsWith('ok')) {
        socket.off('data', onData);
        resolve(answer);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n\r\n`);
  });
}

test('HTTP_KEEP_ALIVE_TIMEOUT_MS: an idle kept-alive connection stays open that long, then the server closes it', async () => {
  const config = loadConfig({ HTTP_KEEP_ALIVE_TIMEOUT_MS: '3000' });
  assert.is(
    loadConfig({}).HTTP_KEEP_ALIVE_TIMEOUT_MS,
    65_000,
    'above a load balancer idle timeout by default',
  );
  const server = createHttpServer((_req, res) => res.end('ok'), {
    keepAliveTimeoutMs: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const socket = connect(port, '127.0.0.1');
  try {
    const answer = await request(socket, port);
    assert.match(answer, /Keep-Alive: timeout=3\r\n/);
    const opened = Date.now();
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - opened)));
    // Node's default would close it after 5 s; 3 s configured: still open after 1 s...
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.is(socket.destroyed, false, 'open after 1 s');
    assert.match(await request(socket, port), /HTTP\/1.1 200/);
    // ... and closed by the server once idle for the configured time.
    const idleFor = await closed;
    assert.ok(idleFor >= 3_900, `closed after ${idleFor} ms`);
  } finally {
    socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('HTTP_KEEP_ALIVE_TIMEOUT_MS is checked like every variable', () => {
  assert.throws(() => loadConfig({ HTTP_KEEP_ALIVE_TIMEOUT_MS: '500' }), /HTTP_KEEP_ALIVE_TIMEOUT_MS/);
  assert.throws(() => loadConfig({ HTTP_KEEP_ALIVE_TIMEOUT_MS: 'soon' }), /HTTP_KEEP_ALIVE_TIMEOUT_MS/);
});

test.run();
