import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TwinsSnapshot } from './registry.js';

/** Where the projection runner keeps its latest snapshot of all twins. */
export interface SnapshotStore {
  /** The latest snapshot, or undefined when none was saved. */
  load(): Promise<TwinsSnapshot | undefined>;
  save(snapshot: TwinsSnapshot): Promise<void>;
}

/** Keeps the snapshot in memory (the memory event store, tests). */
export function createMemorySnapshotStore(): SnapshotStore {
  let latest: string | undefined;
  return {
    async load() {
      return latest === undefined ? undefined : (JSON.parse(latest) as TwinsSnapshot);
    },
    async save(snapshot) {
      // Serialised, so a caller mutating its objects later cannot change what was saved.
      latest = JSON.stringify(snapshot);
    },
  };
}

/**
 * One JSON file in `dir`. Written to a temporary file, fsynced, then renamed over the old one: rename is atomic,
 * so a crash (kill -9) at any point leaves either the previous or the new snapshot, never half of one.
 */
export function createFileSnapshotStore(dir: string, fileName = 'twin-snapshot.json'): SnapshotStore {
  const path = join(dir, fileName);
  return {
    async load() {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
      return JSON.parse(text) as TwinsSnapshot;
    },
    async save(snapshot) {
      mkdirSync(dir, { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(snapshot));
      const fd = openSync(tmp, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
    },
  };
}
