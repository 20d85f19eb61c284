import { pino } from 'pino';

export type Logger = pino.Logger;

/**
 * The process logger: JSON lines on stdout (pino). LOG_LEVEL=silent (what `npm test` sets) turns it off.
 * @example const logger = createLogger({ LOG_LEVEL: 'debug' })
 */
export function createLogger(options: { LOG_LEVEL?: string; name?: string } = {}): Logger {
  return pino({
    name: options.name ?? 'urban-twin',
    level: options.LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'info',
    // API keys and cookies never reach the logs.
    redact: {
      paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'],
      censor: '[redacted]',
    },
  });
}

/** A logger that writes nothing, for tests and tools that pass one only because a signature asks. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
