import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { featureCollection, polygon, union } from '@turf/turf';
import * as assert from 'uvu/assert';
import { AppError } from '../../src/core/errors.js';
import { uuidFromName } from '../../src/core/ids.js';

/** A small square city around (26.10, 44.43) with two districts: for rule tests. */
export const SQUARE = {
  type: 'Polygon' as const,
  coordinates: [
    [
      [26.0, 44.4],
      [26.2, 44.4],
      [26.2, 44.5],
      [26.0, 44.5],
      [26.0, 44.4],
    ],
  ],
};

export const squareCityRegistered = {
  type: 'CityRegistered',
  data: {
    name: 'Testville',
    country: 'RO',
    timezone: 'Europe/Bucharest',
    boundary: SQUARE,
    population: 1000,
    districts: [
      { id: 'north', name: 'North' },
      { id: 'south', name: 'South' },
    ],
  },
};

/** A closed square footprint of about 20 m around a point. */
export function footprintAt(lon: number, lat: number, size = 0.0002) {
  return {
    type: 'Polygon' as const,
    coordinates: [
      [
        [lon, lat],
        [lon + size, lat],
        [lon + size, lat + size],
        [lon, lat + size],
        [lon, lat],
      ],
    ],
  };
}

export function buildingRegistered(entityId: string, lon = 26.1, lat = 44.45, district = 'north') {
  return {
    type: 'BuildingRegistered',
    entityId,
    data: {
      footprint: footprintAt(lon, lat),
      use: 'residential',
      yearBuilt: 1975,
      floors: 10,
      grossFloorAreaM2: 4200,
      district,
    },
  };
}

/** Deterministic ids for tests (never random). */
export const testId = (name: string) => uuidFromName('00000000-0000-5000-8000-000000000000', name);

/** Bucharest from the real UAT boundaries of its six sectors (../shared/data), the sectors as districts. */
export function bucharestRegistered() {
  const sectors = JSON.parse(
    readFileSync(
      join(process.cwd(), '../shared/data/boundaries/bucharest_sectors_uat-harta.geojson'),
      'utf8',
    ),
  ) as { features: { properties: { UAT: string }; geometry: { coordinates: number[][][] } }[] };
  const districts = sectors.features.map((f) => ({
    id: `sector-${f.properties.UAT.slice(-1)}`,
    name: f.properties.UAT,
  }));
  return {
    type: 'CityRegistered',
    data: {
      name: 'București',
      country: 'RO',
      timezone: 'Europe/Bucharest',
      // The sectors share edges, so the city's outline is their union (one Polygon).
      boundary: union(featureCollection(sectors.features.map((f) => polygon(f.geometry.coordinates))))!
        .geometry,
      population: 1_716_000,
      districts,
    },
  };
}

/** Real OSM footprints from Sector 3 (../shared/data). */
export function sector3Footprints(): {
  osmId: number;
  footprint: { type: 'Polygon'; coordinates: number[][][] };
}[] {
  const data = JSON.parse(
    readFileSync(
      join(
        process.cwd(),
        '../shared/data/buildings/bucharest_sector3_unirii_alba-iulia_osm_buildings.geojson',
      ),
      'utf8',
    ),
  ) as {
    features: { properties: { osm_id: number }; geometry: { type: string; coordinates: number[][][] } }[];
  };
  return data.features
    .filter((f) => f.geometry.type === 'Polygon')
    .map((f) => ({
      osmId: f.properties.osm_id,
      footprint: { type: 'Polygon', coordinates: f.geometry.coordinates },
    }));
}

/** A temp directory removed by the returned cleanup. */
export function tempDir(prefix = 'urban-twin-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The AppError a promise rejects with (fails the test when it resolves or rejects with something else). */
export async function caught(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    assert.instance(err, AppError);
    return err as AppError;
  }
  throw new Error('expected a rejection');
}
