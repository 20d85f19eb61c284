import type { KeyRegistry } from './keyRegistry.js';

export interface BootstrapOutcome {
  /** `preset`: ADMIN_KEY was registered (or already was); `generated`: a new key was printed; `none`: keys exist. */
  kind: 'preset' | 'generated' | 'none';
  keyId?: string;
}

/**
 * The first admin key. With ADMIN_KEY set, that key is registered as an all-cities admin (once; it is never
 * printed). Otherwise, on a store without any key, an admin key is generated and written once through
 * `print` (stdout); it is not stored anywhere, so whoever starts the server first must keep it. Once any
 * key exists nothing happens: further keys come from an admin (POST /api/v1/keys) or `twin keys create`.
 */
export async function ensureAdminKey(
  keys: KeyRegistry,
  options: { presetKey?: string | undefined; print: (text: string) => void },
): Promise<BootstrapOutcome> {
  const by = { actor: 'system:bootstrap', source: 'startup', reason: 'first admin key' };
  if (options.presetKey) {
    const { record } = await keys.registerPreset(
      options.presetKey,
      { role: 'admin', cities: '*', label: 'ADMIN_KEY' },
      by,
    );
    return { kind: 'preset', keyId: record.keyId };
  }
  if ((await keys.list()).length > 0) return { kind: 'none' };
  const { key, record } = await keys.create(
    { role: 'admin', cities: '*', label: 'first admin (generated on first start)' },
    by,
  );
  options.print(
    [
      '',
      '================================================================================',
      ' First start: an admin API key was generated. It is shown only this once.',
      ` key id: ${record.keyId}`,
      ` key:    ${key}`,
      ' Use it as `Authorization: Bearer <key>`; create narrower keys with POST /api/v1/keys',
      ' or `npm run twin -- keys create --role <role> --cities <city,...>`.',
      '================================================================================',
      '',
    ].join('\n'),
  );
  return { kind: 'generated', keyId: record.keyId };
}
