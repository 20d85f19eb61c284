import RBush from 'rbush';
import type { BBox } from './geo.js';

/** One entry of the index: an entity id and the bounding box of its geometry. Never mutated once inserted. */
export interface IndexItem {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  id: string;
}

/**
 * A dynamic spatial index over one layer. rbush rather than flatbush/kdbush: those are static (built once,
 * no insert or remove), while a twin's entities are added, moved and removed all the time; rbush does all
 * three in O(log n) and still bulk-loads fast (used after a bulk replay and on restore from a snapshot).
 * Items are kept by id so a move is remove-by-reference + insert.
 */
export class SpatialIndex {
  private tree = new RBush<IndexItem>(16);
  private readonly items = new Map<string, IndexItem>();
  /** While deferred, only `items` is kept; `rebuild()` bulk-loads the tree once. */
  private deferred = false;

  get size(): number {
    return this.items.size;
  }

  /** Inserts or moves an entity. */
  set(id: string, box: BBox): void {
    const old = this.items.get(id);
    if (old && old.minX === box[0] && old.minY === box[1] && old.maxX === box[2] && old.maxY === box[3])
      return;
    const item: IndexItem = { minX: box[0], minY: box[1], maxX: box[2], maxY: box[3], id };
    this.items.set(id, item);
    if (this.deferred) return;
    if (old) this.tree.remove(old);
    this.tree.insert(item);
  }

  delete(id: string): void {
    const old = this.items.get(id);
    if (!old) return;
    this.items.delete(id);
    if (!this.deferred) this.tree.remove(old);
  }

  /** Ids of entities whose box intersects the given box. */
  search(box: BBox): IndexItem[] {
    return this.tree.search({ minX: box[0], minY: box[1], maxX: box[2], maxY: box[3] });
  }

  /** Stops maintaining the tree (bulk replay); `rebuild()` resumes. */
  defer(): void {
    this.deferred = true;
  }

  /** Bulk-loads the tree from the items (after a deferred replay, a restore or a clone). */
  rebuild(): void {
    this.deferred = false;
    this.tree = new RBush<IndexItem>(16);
    this.tree.load([...this.items.values()]);
  }

  /** A copy sharing the (immutable) items; its tree is bulk-loaded. */
  clone(): SpatialIndex {
    const copy = new SpatialIndex();
    for (const [id, item] of this.items) copy.items.set(id, item);
    copy.rebuild();
    return copy;
  }
}
