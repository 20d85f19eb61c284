import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { hashApiKey } from '../../src/access/apiKeySecret.js';
import { createKeyRegistry } from '../../src/access/keyRegistry.js';
import { verifyChains } from '../../src/audit/verify.js';
import { NotFoundError, ValidationError } from '../../src/core/errors.js';
import { createMemoryEventStore } from '../../src/eventStore/memory.js';
import type { EventStore } from '../../src/eventStore/port.js';
import { eventually } from '../support/auth.js';

const by = { actor: 'admin-1', source: 'test' };

const test = suite<{ store: EventStore }>('API key registry', { store: undefined as unknown as EventStore });
test.before.each((ctx) => {
  ctx.store = createMemoryEventStore();
});
test.after.each(async (ctx) => {
  await ctx.store.close();
});

test('a created key authenticates as its role and city scope, and its record never holds the secret', async ({
  store,
}) => {
  const keys = createKeyRegistry(store);
  await keys.start({ live: false });
  const { key, record } = await keys.create({ role: 'operator', cities: ['cluj-napoca'], label: 'ops' }, by);
  assert.match(key, /^ut_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
  const principal = await keys.authenticate(key);
  assert.equal(principal, { id: record.keyId, role: 'operator', cities: ['cluj-napoca'], label: 'ops' });
  assert.equal(record.createdBy, 'admin-1');
  assert.not.ok(JSON.stringify(await keys.list()).includes(key.slice(20)));
  await keys.close();
});

test('the store holds only the hash of a key, never the key', async ({ store }) => {
  const keys = createKeyRegistry(store);
  await keys.start({ live: false });
  const { key } = await keys.create({ role: 'viewer', cities: '*' }, by);
  const stored: string[] = [];
  for await (const e of store.readAll()) stored.push(JSON.stringify({ ...e, position: String(e.position) }));
  assert.is(stored.length, 1);
  assert.not.ok(stored[0]!.includes(key));
  assert.ok(stored[0]!.includes(hashApiKey(key)));
});

test('an unknown, malformed or tampered key does not authenticate', async ({ store }) => {
  const keys = createKeyRegistry(store);
  await keys.start({ live: false });
  const { key } = await keys.create({ role: 'admin', cities: '*' }, by);
  assert.is(await keys.authenticate(''), undefined);
  assert.is(await keys.authenticate('short'), undefined);
  assert.is(await keys.authenticate(`${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`), undefined);
  assert.is(await keys.authenticate(`ut_0123456789abcdef_${'x'.repeat(43)}`), undefined);
  assert.is(await keys.authenticate('x'.repeat(10_000)), undefined);
});

test('a revoked key no longer authenticates, and revoking twice changes nothing', async ({ store }) => {
  const keys = createKeyRegistry(store);
  await keys.start({ live: false });
  const { key, record } = await keys.create({ role: 'planner', cities: ['suceava'] }, by);
  const revoked = await keys.revoke(record.keyId, { ...by, reason: 'laptop lost' });
  assert.ok(revoked.revokedAt);
  assert.is(revoked.revokedBy, 'admin-1');
  assert.is(await keys.authenticate(key), undefined);
  await keys.revoke(record.keyId, by);
  let revocations = 0;
  for await (const e of store.readAll()) if (e.type === 'ApiKeyRevoked') revocations++;
  assert.is(revocations, 1);
});

test('revoking an unknown key is a not-found error', async ({ store }) => {
  const keys = createKeyRegistry(store);
  await keys.start({ live: false });
  await keys.revoke('0123456789abcdef', by).then(
    () => assert.unreachable('revoked a key that does not exist'),
    (err) => assert.instance(err, NotFoundError),
  );
});

test('a key created by another process is accepted, and its revocation there reaches a live registry', async ({
  store,
}) => {
  const server = createKeyRegistry(store);
  await server.start();
  const cli = createKeyRegistry(store);
  await cli.start({ live: false });
  const { key, record } = await cli.create({ role: 'auditor', cities: '*' }, by);
  assert.is((await server.authenticate(key))?.id, record.keyId);
  await cli.revoke(record.keyId, by);
  await eventually(async () => (await server.authenticate(key)) === undefined);
  await server.close();
});

test('a restarted registry knows every key and revocation from the store', async ({ store }) => {
  const first = createKeyRegistry(store);
  await first.start({ live: false });
  const a = await first.create({ role: 'viewer', cities: ['bucharest'] }, by);
  const b = await first.create({ role: 'admin', cities: '*' }, by);
  await first.revoke(a.record.keyId, by);
  const second = createKeyRegistry(store);
  await second.start({ live: false });
  assert.equal(
    (await second.list()).map((r) => [r.keyId, Boolean(r.revokedAt)]).sort(),
    [
      [a.record.keyId, true],
      [b.record.keyId, false],
    ].sort(),
  );
  assert.is((await second.authenticate(b.key))?.role, 'admin');
});

test('a preset key is registered once and accepted', async ({ store }) => {
  const keys = createKeyRegistry(store);
  await keys.start({ live: false });
  const preset = 'a-long-operator-chosen-secret-of-48-characters!!';
  const first = await keys.registerPreset(preset, { role: 'admin', cities: '*', label: 'ADMIN_KEY' }, by);
  const second = await keys.registerPreset(preset, { role: 'admin', cities: '*', label: 'ADMIN_KEY' }, by);
  assert.ok(first.created);
  assert.not.ok(second.created);
  assert.is((await keys.list()).length, 1);
  assert.is((await keys.authenticate(preset))?.role, 'admin');
  await keys.registerPreset('too-short', { role: 'admin', cities: '*' }, by).then(
    () => assert.unreachable('accepted a short preset key'),
    (err) => assert.instance(err, ValidationError),
  );
});

test('a bad role or city scope is rejected naming the field', async ({ store }) => {
  const keys = createKeyRegistry(store);
  await keys.start({ live: false });
  for (const [input, field] of [
    [{ role: 'root', cities: '*' }, 'role'],
    [{ role: 'viewer', cities: ['Not A City'] }, 'cities'],
    [{ role: 'viewer', cities: [] }, 'cities'],
  ] as const) {
    // biome-ignore lint/suspicious/noExplicitAny: deliberately bad input
    await keys.create(input as any, by).then(
      () => assert.unreachable(`accepted ${JSON.stringify(input)}`),
      (err) => {
        assert.instance(err, ValidationError);
        assert.is((err as ValidationError).issues[0]?.field, field);
      },
    );
  }
  assert.is((await keys.list()).length, 0);
});

test('key events carry provenance and are sealed into their stream hash chain', async ({ store }) => {
  const keys = createKeyRegistry(store);
  await keys.start({ live: false });
  const { record } = await keys.create({ role: 'viewer', cities: '*' }, { ...by, correlationId: 'c-1' });
  await keys.revoke(record.keyId, by);
  const events = [];
  for await (const e of store.readStream(`apikey-${record.keyId}`)) events.push(e);
  assert.equal(
    events.map((e) => e.type),
    ['ApiKeyCreated', 'ApiKeyRevoked'],
  );
  assert.is(events[0]!.metadata.actor, 'admin-1');
  assert.is(events[0]!.metadata.correlationId, 'c-1');
  const report = await verifyChains(store);
  assert.ok(report.ok);
  assert.is(report.eventsChecked, 2);
});

test.run();
