/**
 * The city, fleet and tiles of the live benchmark, shared by its processes (server, HTTP feeder, consoles).
 */
import { mulberry32 } from '../../seeds/prng.js';

export const CITY = 'benchville';
export const WEST = 26.0;
export const SOUTH = 44.35;
export const EAST = 26.25;
export const NORTH = 44.55;
/** Position reports per second the feeder aims at. */
export const RATE = 5_000;
export const CLIENTS = 500;
export const VEHICLES = 5_000;
/** Reports per HTTP request (and per port append). */
export const BATCH = 100;

/** 5 x 2 tiles: each a tenth of the city. */
export const TILES: Array<[number, number, number, number]> = [];
for (let row = 0; row < 2; row++) {
  for (let col = 0; col < 5; col++) {
    const w = WEST + ((EAST - WEST) / 5) * col;
    const s = SOUTH + ((NORTH - SOUTH) / 2) * row;
    TILES.push([w, s, w + (EAST - WEST) / 5, s + (NORTH - SOUTH) / 2]);
  }
}

/** The tile (index into TILES) a point falls in. */
export const tileOf = (lon: number, lat: number) =>
  Math.min(1, Math.floor(((lat - SOUTH) / (NORTH - SOUTH)) * 2)) * 5 +
  Math.min(4, Math.floor(((lon - WEST) / (EAST - WEST)) * 5));

/** Seeded vehicles on a random walk inside the city; `next()` moves the next one round-robin. */
export function fleet(seed: number) {
  const random = mulberry32(seed);
  const at = Array.from({ length: VEHICLES }, () => [
    WEST + random() * (EAST - WEST),
    SOUTH + random() * (NORTH - SOUTH),
  ]);
  let i = 0;
  return {
    at,
    next() {
      const k = i++ % VEHICLES;
      const p = at[k]!;
      p[0] = Math.min(EAST - 1e-6, Math.max(WEST + 1e-6, p[0]! + (random() - 0.5) * 0.004));
      p[1] = Math.min(NORTH - 1e-6, Math.max(SOUTH + 1e-6, p[1]! + (random() - 0.5) * 0.003));
      return { id: `bus-${k}`, lon: Number(p[0]!.toFixed(6)), lat: Number(p[1]!.toFixed(6)) };
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
