import { mkdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { type Config, loadConfig } from '../config.js';
import { type Clock, systemClock } from '../core/clock.js';
import { createEventStore } from '../eventStore/createEventStore.js';
import type { EventStore } from '../eventStore/port.js';
import { createWriter, type Writer } from '../write/writer.js';

/** What a CLI command works with: the same store and write pipeline as the server, from the same config. */
export interface CliContext {
  config: Config;
  store: EventStore;
  writer: Writer;
  clock: Clock;
}

/**
 * Opens the configured store (EVENT_STORE, DATA_DIR, EVENTSTORE_URL), runs `work`, and closes the store
 * whatever happens.
 */
export async function withCliContext<T>(
  work: (ctx: CliContext) => Promise<T>,
  env: Record<string, string | undefined> = process.env,
): Promise<T> {
  const config = loadConfig(env);
  if (config.EVENT_STORE === 'sqlite') mkdirSync(config.DATA_DIR, { recursive: true });
  const store = await createEventStore({
    kind: config.EVENT_STORE,
    dataDir: config.DATA_DIR,
    ...(config.EVENTSTORE_URL ? { eventstoreUrl: config.EVENTSTORE_URL } : {}),
  });
  try {
    const clock = systemClock;
    return await work({ config, store, clock, writer: createWriter({ store, clock }) });
  } finally {
    await store.close();
  }
}

/** Where a CLI command writes: stdout for results, stderr for progress (replaceable in tests). */
export interface CliOutput {
  out(text: string): void;
  err(text: string): void;
}

export const stdio: CliOutput = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

/** Whoever can open the store runs the CLI, so the OS user is the honest actor of what it appends. */
export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli:unknown';
  }
}
