import { appendSealed } from '../audit/sealedAppend.js';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { NotFoundError, ValidationError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { EventStore, Position, RecordedEvent, Subscription } from '../eventStore/port.js';
import {
  API_KEY_STREAM_PREFIX,
  apiKeyCreatedSchema,
  apiKeyRevokedSchema,
  apiKeyStream,
  cityScopeSchema,
} from './apiKeyEvents.js';
import {
  hashApiKey,
  isKeyId,
  keyIdOf,
  MIN_PRESET_KEY_LENGTH,
  newApiKey,
  newKeyId,
  sameHash,
} from './apiKeySecret.js';
import type { CityScope, Principal, Role } from './roles.js';
import { ROLES } from './roles.js';

/** What is known about a key (never the key itself). */
export interface ApiKeyRecord {
  keyId: string;
  role: Role;
  cities: CityScope;
  label: string;
  createdAt: string;
  createdBy: string;
  revokedAt?: string;
  revokedBy?: string;
}

/** Who asks for a key change; becomes the change event's metadata. */
export interface KeyChangeProvenance {
  actor: string;
  source: string;
  correlationId?: string;
  reason?: string;
}

export interface CreateKeyInput {
  role: Role;
  cities: CityScope;
  label?: string;
}

export interface KeyRegistry {
  /**
   * Loads every key from the store; with `live` (the default) a subscription then keeps the index current
   * with keys created or revoked by another process (the CLI). Without it, a key created elsewhere is still
   * found on first use (its id is in the key), but a revocation elsewhere is seen only after `refresh()`.
   */
  start(options?: { live?: boolean }): Promise<void>;
  /** The principal a presented key stands for, or undefined (unknown, malformed or revoked). */
  authenticate(token: string): Promise<Principal | undefined>;
  /** Creates a key; the returned `key` is the only time the secret exists outside its owner. */
  create(input: CreateKeyInput, by: KeyChangeProvenance): Promise<{ key: string; record: ApiKeyRecord }>;
  /** Registers an externally chosen key (ADMIN_KEY); a no-op returning the existing record if present. */
  registerPreset(
    key: string,
    input: CreateKeyInput,
    by: KeyChangeProvenance,
  ): Promise<{ record: ApiKeyRecord; created: boolean }>;
  /** Revokes a key; revoking an already revoked key changes nothing. */
  revoke(keyId: string, by: KeyChangeProvenance): Promise<ApiKeyRecord>;
  list(): Promise<ApiKeyRecord[]>;
  get(keyId: string): Promise<ApiKeyRecord | undefined>;
  /** Catches the index up with the store (keys changed by another process, e.g. the CLI). */
  refresh(): Promise<void>;
  /**
   * Calls `listener(keyId)` whenever a revocation reaches this registry (from here, the CLI or another node),
   * so holders of long-lived connections can drop them. Returns the unsubscribe function.
   */
  onRevoked(listener: (keyId: string) => void): () => void;
  close(): Promise<void>;
}

interface Entry {
  record: ApiKeyRecord;
  hash: string;
}

/**
 * The API key registry: an in-memory index (hash -> key) over the `apikey-*` streams.
 * @example const keys = createKeyRegistry(store); await keys.start(); await keys.authenticate(token)
 */
export function createKeyRegistry(store: EventStore, options: { clock?: Clock } = {}): KeyRegistry {
  const clock = options.clock ?? systemClock;
  const byId = new Map<string, Entry>();
  const byHash = new Map<string, Entry>();
  let lastPosition: Position | undefined;
  let subscription: Subscription | undefined;
  let pump: Promise<void> | undefined;
  let loaded: Promise<void> | undefined;
  const revokedListeners = new Set<(keyId: string) => void>();

  /** Loads the keys once; an operation before start() (a test app, the CLI) triggers it. */
  function ensureLoaded(): Promise<void> {
    loaded ??= catchUp().catch((err: unknown) => {
      loaded = undefined;
      throw err;
    });
    return loaded;
  }

  function apply(event: RecordedEvent): void {
    if (!event.stream.startsWith(API_KEY_STREAM_PREFIX)) return;
    const actor = typeof event.metadata.actor === 'string' ? event.metadata.actor : 'unknown';
    if (event.type === 'ApiKeyCreated') {
      const parsed = apiKeyCreatedSchema.safeParse(event.data);
      if (!parsed.success || byId.has(parsed.data.keyId)) return;
      const { keyId, hash, role, cities, label } = parsed.data;
      const entry: Entry = {
        hash,
        record: { keyId, role, cities, label, createdAt: event.recordedAt, createdBy: actor },
      };
      byId.set(keyId, entry);
      byHash.set(hash, entry);
    } else if (event.type === 'ApiKeyRevoked') {
      const parsed = apiKeyRevokedSchema.safeParse(event.data);
      const entry = parsed.success ? byId.get(parsed.data.keyId) : undefined;
      if (entry && !entry.record.revokedAt) {
        entry.record.revokedAt = event.recordedAt;
        entry.record.revokedBy = actor;
        for (const listener of revokedListeners) {
          try {
            listener(entry.record.keyId);
          } catch {
            // A listener's failure must not stop the index from applying the revocation.
          }
        }
      }
    }
  }

  function track(event: RecordedEvent): void {
    apply(event);
    if (lastPosition === undefined || event.position > lastPosition) lastPosition = event.position;
  }

  async function catchUp(): Promise<void> {
    const from = lastPosition === undefined ? 'start' : lastPosition + 1n;
    for await (const event of store.readAll({
      fromPosition: from,
      filter: { streamPrefixes: [API_KEY_STREAM_PREFIX] },
    })) {
      track(event);
    }
  }

  async function readKeyStream(keyId: string): Promise<void> {
    for await (const event of store.readStream(apiKeyStream(keyId))) apply(event);
  }

  function metadata(by: KeyChangeProvenance): Record<string, unknown> {
    const meta: Record<string, unknown> = {
      actor: by.actor,
      source: by.source,
      occurredAt: clock.now().toISOString(),
      correlationId: by.correlationId ?? newId(),
      causationId: null,
    };
    if (by.reason) meta.reason = by.reason;
    return meta;
  }

  function validateInput(input: CreateKeyInput): CreateKeyInput {
    if (!(ROLES as readonly string[]).includes(input.role)) {
      throw new ValidationError(`Unknown role: ${JSON.stringify(input.role)}`, [
        { field: 'role', value: input.role, message: `must be one of ${ROLES.join(', ')}` },
      ]);
    }
    const cities = cityScopeSchema.safeParse(input.cities);
    if (!cities.success) {
      throw new ValidationError(`Invalid city scope: ${JSON.stringify(input.cities)}`, [
        { field: 'cities', value: input.cities, message: 'must be "*" or a list of city ids' },
      ]);
    }
    const label = input.label ?? '';
    if (label.length > 200) {
      throw new ValidationError('Label too long', [
        { field: 'label', value: label.length, message: 'at most 200 characters' },
      ]);
    }
    return { role: input.role, cities: cities.data, label };
  }

  async function createWithKey(
    keyId: string,
    key: string,
    input: CreateKeyInput,
    by: KeyChangeProvenance,
  ): Promise<ApiKeyRecord> {
    const valid = validateInput(input);
    const data = apiKeyCreatedSchema.parse({
      keyId,
      hash: hashApiKey(key),
      role: valid.role,
      cities: valid.cities,
      label: valid.label ?? '',
    });
    await appendSealed(store, apiKeyStream(keyId), [
      { id: newId(), type: 'ApiKeyCreated', data, metadata: metadata(by) },
    ]);
    await readKeyStream(keyId);
    const entry = byId.get(keyId);
    if (!entry) throw new Error(`Key ${keyId} was appended but could not be read back`);
    return entry.record;
  }

  return {
    async start(startOptions = {}) {
      await ensureLoaded();
      if (startOptions.live === false) return;
      subscription = store.subscribeToAll({
        from: lastPosition ?? 'start',
        filter: { streamPrefixes: [API_KEY_STREAM_PREFIX] },
      });
      const sub = subscription;
      pump = (async () => {
        try {
          for await (const message of sub) {
            if (message.type === 'event') track(message.event);
          }
        } catch {
          // The store closed under the subscription; the index keeps what it had.
        }
      })();
    },

    async authenticate(token) {
      if (typeof token !== 'string' || token.length < MIN_PRESET_KEY_LENGTH || token.length > 512) {
        return undefined;
      }
      await ensureLoaded();
      const hash = hashApiKey(token);
      let entry = byHash.get(hash);
      if (!entry) {
        // A key created by another process since our subscription last heard: its id is in the token.
        const keyId = keyIdOf(token);
        if (!keyId) return undefined;
        await readKeyStream(keyId);
        entry = byHash.get(hash);
      }
      if (!entry || entry.record.revokedAt || !sameHash(entry.hash, hash)) return undefined;
      const { keyId, role, cities, label } = entry.record;
      return { id: keyId, role, cities, label };
    },

    async create(input, by) {
      await ensureLoaded();
      const keyId = newKeyId();
      const key = newApiKey(keyId);
      const record = await createWithKey(keyId, key, input, by);
      return { key, record };
    },

    async registerPreset(key, input, by) {
      await ensureLoaded();
      if (key.length < MIN_PRESET_KEY_LENGTH) {
        throw new ValidationError(`A preset key must have at least ${MIN_PRESET_KEY_LENGTH} characters`, [
          { field: 'ADMIN_KEY', value: `${key.length} characters`, message: 'too short to be secret' },
        ]);
      }
      const existing = byHash.get(hashApiKey(key));
      if (existing) return { record: existing.record, created: false };
      const record = await createWithKey(keyIdOf(key) ?? newKeyId(), key, input, by);
      return { record, created: true };
    },

    async revoke(keyId, by) {
      await ensureLoaded();
      if (!isKeyId(keyId)) throw new NotFoundError(`No API key ${JSON.stringify(keyId)}`);
      if (!byId.has(keyId)) await readKeyStream(keyId);
      const entry = byId.get(keyId);
      if (!entry) throw new NotFoundError(`No API key ${JSON.stringify(keyId)}`);
      if (entry.record.revokedAt) return entry.record;
      await appendSealed(store, apiKeyStream(keyId), [
        { id: newId(), type: 'ApiKeyRevoked', data: { keyId }, metadata: metadata(by) },
      ]);
      await readKeyStream(keyId);
      return entry.record;
    },

    async list() {
      await ensureLoaded();
      return [...byId.values()]
        .map((e) => e.record)
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.keyId.localeCompare(b.keyId));
    },

    async get(keyId) {
      await ensureLoaded();
      return byId.get(keyId)?.record;
    },

    refresh: catchUp,

    onRevoked(listener) {
      revokedListeners.add(listener);
      return () => revokedListeners.delete(listener);
    },

    async close() {
      await subscription?.close();
      await pump;
    },
  };
}
