import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';

/**
 * Snapshots of each city's twin at given positions, for as-of queries. Each is kept as a V8-serialised
 * buffer (bigints, Maps and typed arrays survive, and it is several times faster than JSON), on disk under
 * `<dir>/<city>/<position>.v8` when a directory is given, and in a small LRU of recently used buffers.
 * A snapshot is deserialised afresh for every use, so the twin replayed from it may mutate it freely.
 */
export class SnapshotStore {
  private readonly positions = new Map<string, number[]>();
  private readonly memory = new Map<string, Buffer>();
  private readonly lru = new Map<string, Buffer>();

  constructor(
    private readonly dir: string | undefined,
    private readonly lruSize = 8,
  ) {
    if (!dir) return;
    mkdirSync(dir, { recursive: true });
    for (const city of readdirSync(dir)) {
      const list = readdirSync(join(dir, city))
        .filter((f) => f.endsWith('.v8'))
        .map((f) => Number(f.slice(0, -3)))
        .filter(Number.isFinite)
        .sort((a, b) => a - b);
      this.positions.set(city, list);
    }
  }

  /** Stores a snapshot of `city` taken right after the event at `position`. */
  put(city: string, position: number, snapshot: unknown): void {
    const buf = serialize(snapshot);
    const key = `${city}@${position}`;
    if (this.dir) {
      const cityDir = join(this.dir, city);
      mkdirSync(cityDir, { recursive: true });
      // Write-then-rename, so a kill never leaves a half-written snapshot under its final name.
      const tmp = join(cityDir, `${position}.v8.tmp`);
      writeFileSync(tmp, buf);
      renameSync(tmp, join(cityDir, `${position}.v8`));
      this.remember(key, buf);
    } else {
      this.memory.set(key, buf);
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
    let buf = this.memory.get(key) ?? this.lru.get(key);
    if (!buf) {
      if (!this.dir) throw new Error(`No snapshot ${key}`);
      buf = readFileSync(join(this.dir, city, `${position}.v8`));
    }
    if (this.dir) this.remember(key, buf);
    return deserialize(buf) as S;
  }

  /** Forgets every snapshot (the log they were taken from is gone). */
  clear(): void {
    this.positions.clear();
    this.memory.clear();
    this.lru.clear();
  }

  /** True when snapshots live on disk. */
  get persistent(): boolean {
    return this.dir !== undefined && existsSync(this.dir);
  }

  private remember(key: string, buf: Buffer): void {
    this.lru.delete(key);
    this.lru.set(key, buf);
    while (this.lru.size > this.lruSize) this.lru.delete(this.lru.keys().next().value!);
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
