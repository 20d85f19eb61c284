import { z } from 'zod';
import { ValidationError } from './core/errors.js';
import { defaultParseWorkers } from './write/parseWorkers.js';

/**
 * The server's configuration, parsed from the environment. Keys are the environment variable names, so a
 * variable in docker-compose.yml, the README and this schema is spelled the same everywhere. To add one,
 * add a line here (with its default) and a row to the README's Configuration table.
 */
const bool = (fallback: boolean) => z.stringbool().default(fallback);
const int = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

export const configSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    /** Which event store adapter backs the server. */
    EVENT_STORE: z.enum(['sqlite', 'memory', 'esdb']).default('sqlite'),
    /** EventStoreDB connection string, e.g. `esdb://localhost:2113?tls=false`; required when EVENT_STORE=esdb. */
    EVENTSTORE_URL: z.string().min(1).optional(),
    PORT: int(3000, 0, 65_535),
    HOST: z.string().min(1).default('0.0.0.0'),
    /** Where the SQLite file (and snapshots) live. */
    DATA_DIR: z.string().min(1).default('./data'),
    /** The server appends to the SQLite file on a thread of its own, off the event loop (README "Event store"). */
    SQLITE_WRITER_THREAD: bool(false),
    /** Most events one ingest request may carry. */
    MAX_BATCH_SIZE: int(5_000, 1, 100_000),
    /** Worker threads that parse ingested batches off the event loop (0 = parse in process). */
    PARSE_WORKERS: int(defaultParseWorkers(), 0, 64),
    /** Largest accepted request body (bytes, or a size like `16mb`). */
    BODY_LIMIT: z
      .string()
      .regex(/^\d+(\.\d+)?\s*(b|kb|mb|gb)?$/i, 'must be a size such as 16mb or 1048576')
      .default('16mb'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Seed the three cities on start when the store is empty. */
    SEED: bool(true),
    /** Multiplies the seeded volume (1 = the default city sizes). */
    SEED_SCALE: z.coerce.number().positive().max(100).default(1),
    /** The twin writes a snapshot every this many events (0 = never). */
    SNAPSHOT_EVERY_EVENTS: int(50_000, 0, 100_000_000),
    /** Time travel snapshots each city's twin every this many of its events; an as-of query replays at most that many. */
    TIME_TRAVEL_SNAPSHOT_EVERY: int(10_000, 100, 10_000_000),
    /** Comma-separated allowed browser origins for CORS; empty = no cross-origin access. */
    CORS_ORIGINS: z
      .string()
      .default('')
      .transform((s) =>
        s
          .split(',')
          .map((o) => o.trim())
          .filter(Boolean),
      ),
    /** Live gateway: window within which position reports of one entity are coalesced (ms). */
    LIVE_COALESCE_MS: int(100, 0, 10_000),
    /** Live gateway: changes a subscription may hold unsent before it is resynchronised with a snapshot. */
    LIVE_MAX_BUFFER: int(10_000, 10, 10_000_000),
    /** Live gateway: most missed events a resume replays from the store; beyond, a `resync` snapshot. */
    LIVE_MAX_RESUME_EVENTS: int(10_000, 0, 10_000_000),
    /** Live gateway: unacknowledged data messages per subscription before the server holds back. */
    LIVE_MAX_IN_FLIGHT: int(8, 1, 1_000),
    /** Live gateway: most changes per `changes` message (and features per `snapshot` chunk). */
    LIVE_MAX_BATCH: int(1_000, 1, 100_000),
    /** Whether read routes answer without an API key. Writes always need one. */
    ALLOW_ANONYMOUS_READS: bool(false),
    /**
     * How long an idle kept-alive HTTP connection stays open (ms). Above a load balancer's idle timeout (60 s
     * on common ones), so that the balancer closes idle connections, not the server: a client (or balancer)
     * never sends a request on a connection the server is closing at that moment. At most 290 s: the headers
     * timeout (1 s more) must stay under Node's 300 s request timeout.
     */
    HTTP_KEEP_ALIVE_TIMEOUT_MS: int(65_000, 1_000, 290_000),
    /** Requests per minute per API key (per client IP without one); 0 turns rate limiting off. */
    RATE_LIMIT_PER_MINUTE: int(1_200, 0, 1_000_000),
    /** Presets the first admin key (at least 32 characters); otherwise one is generated and printed once. */
    ADMIN_KEY: z.string().min(32, 'must have at least 32 characters').max(512).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.EVENT_STORE === 'esdb' && !c.EVENTSTORE_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['EVENTSTORE_URL'],
        message: 'is required when EVENT_STORE=esdb (e.g. esdb://localhost:2113?tls=false)',
      });
    }
  });

export type Config = z.infer<typeof configSchema>;

/** The names of every variable the server reads. */
export const CONFIG_VARIABLES = Object.keys(configSchema.shape) as (keyof Config)[];

/**
 * Parses the environment into a Config. Empty variables count as unset. Throws a ValidationError whose
 * message names every bad variable and its value.
 * @example loadConfig({ PORT: '8080', EVENT_STORE: 'memory' })
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const relevant: Record<string, string> = {};
  for (const name of CONFIG_VARIABLES) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') relevant[name] = value.trim();
  }
  const parsed = configSchema.safeParse(relevant);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => {
    const field = String(issue.path[0] ?? '');
    return { field, value: relevant[field], message: issue.message };
  });
  // Cross-variable checks run only on an otherwise valid object; name this one in any case.
  if (
    relevant.EVENT_STORE === 'esdb' &&
    !relevant.EVENTSTORE_URL &&
    !issues.some((i) => i.field === 'EVENTSTORE_URL')
  ) {
    issues.push({ field: 'EVENTSTORE_URL', value: undefined, message: 'is required when EVENT_STORE=esdb' });
  }
  const lines = issues.map(
    (i) => `${i.field}=${i.value === undefined ? '(unset)' : JSON.stringify(i.value)}: ${i.message}`,
  );
  throw new ValidationError(`Invalid configuration: ${lines.join('; ')}`, issues);
}
