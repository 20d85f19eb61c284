import { createServer, type RequestListener, type Server } from 'node:http';

/**
 * The HTTP server of the app, with its connection timeouts set from the configuration. Node closes an idle
 * kept-alive connection after 5 s by default; a client that sends its next request on such a connection just
 * as it closes gets a reset (seen as one failed request in a 70 s run of the live benchmark's feeder, whose
 * 16 pooled connections are not all busy all the time). Kept open longer than the idle timeout of a load
 * balancer in front, the connection is closed by the side that sends on it.
 */
export function createHttpServer(app: RequestListener, options: { keepAliveTimeoutMs: number }): Server {
  const server = createServer(app);
  server.keepAliveTimeout = options.keepAliveTimeoutMs;
  // A request's headers may take as long to arrive as a kept-alive connection may idle, and a little more
  server.headersTimeout = options.keepAliveTimeoutMs + 1_000;
  return server;
}
