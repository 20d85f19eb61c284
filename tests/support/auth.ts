import { createKeyRegistry } from '../../src/access/keyRegistry.js';
import type { CityScope, Role } from '../../src/access/roles.js';
import type { EventStore } from '../../src/eventStore/port.js';

/**
 * Creates an API key in `store` (as the CLI would) and returns the secret. An app built on the same store
 * accepts it: the key's id is in the key, so the app finds its stream on first use.
 * @example const key = await createTestKey(store, 'operator', ['bucharest'])
 */
export async function createTestKey(
  store: EventStore,
  role: Role = 'admin',
  cities: CityScope = '*',
  label = `test ${role}`,
): Promise<string> {
  const registry = createKeyRegistry(store);
  const { key } = await registry.create({ role, cities, label }, { actor: 'test-setup', source: 'test' });
  return key;
}

/**
 * The header that authenticates as a fresh key of `role` (default: an all-cities admin, which may call
 * every route), for supertest: `request(app).get(url).set(await authHeader(store))`.
 */
export async function authHeader(
  store: EventStore,
  role: Role = 'admin',
  cities: CityScope = '*',
): Promise<{ Authorization: string }> {
  return { Authorization: `Bearer ${await createTestKey(store, role, cities)}` };
}

/** Resolves once `condition` holds, polling; rejects after `timeoutMs` (generous, for a busy machine). */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
