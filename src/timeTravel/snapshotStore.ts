import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Snapshots of each city's twin at given positions, for as-of queries: JSON (the twin's snapshot is plain
 * JSON, and JSON.parse beats V8 deserialisation on it), on disk under `<dir>/<city>/<position>.json` when a
 * directory is given, else in memory. A snapshot is parsed afresh for every use, so the twin restored from
 * it may mutate it freely. (Restored twins themselves are kept by TimeTravel in its own LRU.)
 */
export class SnapshotStore {
  private readonly positions = new Map<string, number[]>();
  private readonly memory = new Map<string, string>();

  constructor(private readonly dir: string | undefined) {
    if (!dir) return;
    mkdirSync(dir, { recursive: true });
    for (const city of readdirSync(dir)) {
      const list = readdirSync(join(dir, city))
        .filter((f) => f.endsWith('.json'))
        .map((f) => Number(f.slice(0, -5)))
        .filter(Number.isFinite)
        .sort((a, b) => a - b);
      this.positions.set(city, list);
    }
  }

  /** Stores a snapshot of `city` taken right after the event at `position`. */
  put(city: string, position: number, snapshot: unknown): void {
    const text = JSON.stringify(snapshot);
    const key = `${city}@${position}`;
    if (this.dir) {
      const cityDir = join(this.dir, city);
      mkdirSync(cityDir, { recursive: true });
      // Write-then-rename, so a kill never leaves a half-written snapshot under its final name.
      const tmp = join(cityDir, `${position}.json.tmp`);
      writeFileSync(tmp, text);
      renameSync(tmp, join(cityDir, `${position}.json`));
    } else {
      this.memory.set(key, text);
    }
    const list = this.positions.get(city) ?? [];
    if (list.length === 0 || list[list.length - 1]! < position) list.push(position);
    else if (!list.includes(position)) list.splice(upperBound(list, position), 0, position);
    this.positions.set(city, list);
  }

  /** The latest snapshot position of `city` that is <= `maxPosition` and passes `accept`, if any. */
  latest(
    city: string,
    maxPosition: number,
    accept: (position: number) => boolean = () => true,
  ): number | undefined {
    const list = this.positions.get(city) ?? [];
    for (let i = upperBound(list, maxPosition) - 1; i >= 0; i--) {
      if (accept(list[i]!)) return list[i]!;
    }
    return undefined;
  }

  /** All snapshot positions of a city, ascending. */
  list(city: string): readonly number[] {
    return this.positions.get(city) ?? [];
  }

  /** A fresh copy of the snapshot of `city` at `position`. */
  get<S>(city: string, position: number): S {
    const key = `${city}@${position}`;
    let text = this.memory.get(key);
    if (text === undefined) {
      if (!this.dir) throw new Error(`No snapshot ${key}`);
      text = readFileSync(join(this.dir, city, `${position}.json`), 'utf8');
    }
    return JSON.parse(text) as S;
  }

  /** Forgets every snapshot (the log they were taken from is gone). */
  clear(): void {
    this.positions.clear();
    this.memory.clear();
  }

  /** True when snapshots live on disk. */
  get persistent(): boolean {
    return this.dir !== undefined && existsSync(this.dir);
  }
}

function upperBound(list: number[], x: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
