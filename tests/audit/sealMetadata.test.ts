import { createHash } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createRng } from '../../seeds/prng.js';
import { canonicalJson } from '../../src/audit/canonicalJson.js';
import { eventHash, GENESIS_HASH, sealEvents } from '../../src/audit/hashChain.js';

const Seal = suite('sealing with the write path metadata written directly');

/** The chain's definition: SHA-256 over the canonical JSON of the whole hashable object. */
function definitionHash(event: {
  stream: string;
  revision: number;
  type: string;
  data: unknown;
  metadata: Record<string, unknown>;
}): string {
  const { hash: _ignored, ...metadata } = event.metadata;
  const text = canonicalJson({ ...event, metadata })!;
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

Seal('every seeded metadata shape hashes as the definition says', () => {
  const rng = createRng('seal-metadata');
  const strings = ['bench', 'ana "quoted" \\ path', 'tab\there', 'ăîșț €😀', '', 'x'.repeat(300)];
  for (let i = 0; i < 400; i++) {
    const metadata: Record<string, unknown> = {
      actor: rng.pick(strings),
      source: rng.pick(strings),
      occurredAt: '2024-05-01T10:00:00.000Z',
      correlationId: rng.pick(strings),
      causationId: rng.chance(0.5) ? null : rng.pick(strings),
    };
    if (rng.chance(0.4)) metadata.reason = rng.pick(strings);
    if (rng.chance(0.2)) metadata.reason = undefined;
    // shapes the direct writer hands to the general one
    if (rng.chance(0.15)) metadata.extra = { nested: [1, 'two'] };
    if (rng.chance(0.1)) metadata.actor = 42;
    if (rng.chance(0.1)) metadata.prevHash = 'given, and replaced by the chain';
    const data = { n: i, label: rng.pick(strings) };
    const sealed = sealEvents('building-test.b-1', 3, GENESIS_HASH, [
      { id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, type: 'Test', data, metadata },
    ]);
    const event = {
      stream: 'building-test.b-1',
      revision: 3,
      type: 'Test',
      data,
      metadata: sealed[0]!.metadata,
    };
    assert.is(sealed[0]!.metadata.hash, definitionHash(event), JSON.stringify(metadata));
    assert.is(eventHash(event), sealed[0]!.metadata.hash);
  }
});

Seal('an inherited member counts as the general writer counts it', () => {
  const metadata = Object.create({ reason: 'inherited' }) as Record<string, unknown>;
  Object.assign(metadata, {
    actor: 'a',
    source: 's',
    occurredAt: 'o',
    correlationId: 'c',
    causationId: null,
  });
  const sealed = sealEvents('city-x', 0, GENESIS_HASH, [
    { id: '00000000-0000-4000-8000-000000000001', type: 'T', data: {}, metadata },
  ]);
  const event = { stream: 'city-x', revision: 0, type: 'T', data: {}, metadata: sealed[0]!.metadata };
  assert.is(sealed[0]!.metadata.hash, definitionHash(event));
});

Seal.run();
