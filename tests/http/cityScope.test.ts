import request from 'supertest';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryEventStore } from '../../src/eventStore/memory.js';
import type { TwinEvent } from '../../src/twin/cityTwin.js';
import { createTwinRegistry } from '../../src/twin/registry.js';
import { authHeader } from '../support/auth.js';
import { squareCityRegistered, testId } from '../write/fixtures.js';
import { testApp } from './helpers.js';

const test = suite('city scope in listings');

test('GET /cities lists only the cities of the key, so it reveals nothing about the others', async () => {
  const store = createMemoryEventStore();
  const twins = createTwinRegistry();
  const app = testApp(store, {}, { twins });
  const operator = await authHeader(store, 'operator', ['alpha', 'beta']);
  for (const city of ['alpha', 'beta']) {
    const res = await request(app)
      .post(`/api/v1/cities/${city}/events`)
      .set(operator)
      .send({ events: [{ ...squareCityRegistered, id: testId(`scope-${city}`) }] });
    assert.is(res.status, 201, JSON.stringify(res.body));
  }
  for await (const e of store.readAll())
    twins.apply(e as unknown as TwinEvent & { id: string; position: bigint });
  const ids = async (header: { Authorization: string }) =>
    (await request(app).get('/api/v1/cities').set(header).expect(200)).body.cities.map(
      (c: { id: string }) => c.id,
    );
  assert.equal(await ids(await authHeader(store, 'viewer', ['beta'])), ['beta']);
  assert.equal(await ids(await authHeader(store, 'viewer', ['gamma'])), []);
  assert.equal((await ids(await authHeader(store, 'viewer', '*'))).sort(), ['alpha', 'beta']);
  await store.close();
});

test.run();
