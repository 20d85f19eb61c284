import { appendSealed } from '../../src/audit/sealedAppend.js';
import type { EventStore } from '../../src/eventStore/port.js';

/** A small square footprint near Cluj-Napoca's centre. */
export const FOOTPRINT = {
  type: 'Polygon' as const,
  coordinates: [
    [
      [23.59, 46.77],
      [23.5902, 46.77],
      [23.5902, 46.7702],
      [23.59, 46.7702],
      [23.59, 46.77],
    ],
  ],
};

let counter = 0;
/** A deterministic UUID for fixture events (distinct per call). */
export function fixtureId(): string {
  counter++;
  return `00000000-0000-4000-8000-${counter.toString(16).padStart(12, '0')}`;
}

export interface Provenance {
  actor: string;
  source: string;
  occurredAt: string;
  correlationId: string;
  reason?: string;
}

/** Appends one domain event to a stream, sealed into its hash chain as the write pipeline does. */
export async function appendFixture(
  store: EventStore,
  stream: string,
  type: string,
  data: Record<string, unknown>,
  meta: Provenance,
): Promise<void> {
  await appendSealed(store, stream, [
    { id: fixtureId(), type, data, metadata: { causationId: null, ...meta } },
  ]);
}

/**
 * A building's life in Cluj-Napoca (`b-1`: registered, certified, retrofitted) by two actors and sources,
 * and a charger `c-1`, 5 events in all.
 */
export async function seedAuditFixture(store: EventStore): Promise<void> {
  const s = 'building-cluj-napoca.b-1';
  await appendFixture(
    store,
    s,
    'BuildingRegistered',
    {
      footprint: FOOTPRINT,
      use: 'residential',
      yearBuilt: 1975,
      floors: 4,
      grossFloorAreaM2: 1200,
      district: 'centru',
    },
    { actor: 'k-import', source: 'cadastre', occurredAt: '2026-01-05T10:00:00Z', correlationId: 'corr-a' },
  );
  await appendFixture(
    store,
    s,
    'BuildingEnergyCertified',
    { energyClass: 'E', primaryEnergyKwhPerM2Year: 280, heatingSystem: 'district-heating' },
    {
      actor: 'k-import',
      source: 'certificates',
      occurredAt: '2026-02-01T10:00:00Z',
      correlationId: 'corr-b',
    },
  );
  await appendFixture(
    store,
    'mobility-cluj-napoca.c-1',
    'MobilityAssetRegistered',
    {
      kind: 'ev-charger',
      location: { type: 'Point', coordinates: [23.6, 46.77] },
      operator: 'op',
      powerKw: 50,
    },
    { actor: 'k-ops', source: 'ocpi', occurredAt: '2026-02-10T10:00:00Z', correlationId: 'corr-c' },
  );
  await appendFixture(
    store,
    s,
    'BuildingRetrofitted',
    { measures: ['wall-insulation', 'windows'], expectedSavingsPercent: 35 },
    {
      actor: 'k-ops',
      source: 'sector-programme',
      occurredAt: '2026-03-01T10:00:00Z',
      correlationId: 'corr-d',
      reason: 'thermal rehabilitation programme',
    },
  );
  await appendFixture(
    store,
    'building-suceava.b-9',
    'BuildingRegistered',
    {
      footprint: FOOTPRINT,
      use: 'office',
      yearBuilt: 1990,
      floors: 2,
      grossFloorAreaM2: 300,
      district: 'centru',
    },
    { actor: 'k-import', source: 'cadastre', occurredAt: '2026-01-06T10:00:00Z', correlationId: 'corr-e' },
  );
}
