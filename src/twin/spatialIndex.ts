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

/** Changes kept beside a shared tree before it is worth bulk-loading a tree of one's own. */
const MIN_OVERLAY = 4_096;

/**
 * A dynamic spatial index over one layer. rbush rather than flatbush/kdbush: those are static (built once,
 * no insert or remove), while a twin's entities are added, moved and removed all the time; rbush does all
 * three in O(log n) and still bulk-loads fast (used after a bulk replay and on restore from a snapshot).
 * Items are kept by id so a move is remove-by-reference + insert.
 *
 * Copies are cheap (time travel copies a snapshot twin for every as-of query): a copy shares the tree, which
 * from then on neither side writes. Each side keeps its changes beside it, in a small tree of its own
 * (`overlay`) and a set of the shared tree's items that are gone or moved (`dead`); a search asks both.
 * Once the changes grow to a sizeable share of the tree, or when the side is copied again, it bulk-loads a
 * tree of its own.
 */
export class SpatialIndex {
  private tree = new RBush<IndexItem>(16);
  private readonly items: Map<string, IndexItem>;
  /** True while `tree` may be shared with a copy: it is then never written, changes go to the overlay. */
  private shared = false;
  private overlay: RBush<IndexItem> | undefined;
  private overlayItems: Set<IndexItem> | undefined;
  private dead: Set<IndexItem> | undefined;
  /** While deferred, only `items` is kept; `rebuild()` bulk-loads the tree once. */
  private deferred = false;
  /** An item changed while deferred: the tree no longer matches the items. */
  private treeStale = false;

  constructor(items?: Map<string, IndexItem>) {
    this.items = items ?? new Map();
  }

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
    if (this.deferred) {
      this.treeStale = true;
      return;
    }
    if (old) this.unlink(old);
    if (!this.shared) this.tree.insert(item);
    else {
      this.overlay ??= new RBush<IndexItem>(16);
      this.overlayItems ??= new Set();
      this.overlay.insert(item);
      this.overlayItems.add(item);
      this.compactIfLarge();
    }
  }

  delete(id: string): void {
    const old = this.items.get(id);
    if (!old) return;
    this.items.delete(id);
    if (this.deferred) this.treeStale = true;
    else {
      this.unlink(old);
      this.compactIfLarge();
    }
  }

  /** Takes an item out of whichever tree holds it (the shared one only by marking it dead). */
  private unlink(item: IndexItem): void {
    if (!this.shared) {
      this.tree.remove(item);
      return;
    }
    if (this.overlayItems?.delete(item)) this.overlay!.remove(item);
    else {
      this.dead ??= new Set();
      this.dead.add(item);
    }
  }

  private compactIfLarge(): void {
    const changes = (this.overlayItems?.size ?? 0) + (this.dead?.size ?? 0);
    if (changes > MIN_OVERLAY && changes * 4 > this.items.size) this.rebuild();
  }

  /** Ids of entities whose box intersects the given box. */
  search(box: BBox): IndexItem[] {
    const query = { minX: box[0], minY: box[1], maxX: box[2], maxY: box[3] };
    const found = this.tree.search(query);
    if (!this.shared) return found;
    const dead = this.dead;
    const out = dead && dead.size > 0 ? found.filter((item) => !dead.has(item)) : found;
    if (this.overlay && this.overlayItems!.size > 0)
      for (const item of this.overlay.search(query)) out.push(item);
    return out;
  }

  /** Stops maintaining the tree (bulk replay); `rebuild()` resumes. */
  defer(): void {
    this.deferred = true;
  }

  /** Ends a deferral: bulk-loads the tree if anything changed meanwhile, else the tree is still current. */
  resume(): void {
    if (!this.deferred) return;
    if (this.treeStale) this.rebuild();
    else this.deferred = false;
  }

  /** Bulk-loads a tree of its own from the items (after a deferred replay, a restore, or many changes). */
  rebuild(): void {
    this.deferred = false;
    this.treeStale = false;
    this.shared = false;
    this.overlay = undefined;
    this.overlayItems = undefined;
    this.dead = undefined;
    this.tree = new RBush<IndexItem>(16);
    this.tree.load([...this.items.values()]);
  }

  /**
   * A copy sharing the (immutable) items and, unless deferred, the tree: from now on both sides keep their
   * changes beside it. A deferred index is copied deferred (its tree is not current anyway).
   */
  clone(): SpatialIndex {
    const copy = new SpatialIndex(new Map(this.items));
    if (this.deferred) {
      copy.deferred = true;
      copy.treeStale = true;
      return copy;
    }
    // Pending changes are folded into a tree of this side's own first, so that a copy (and every copy of
    // it: time travel copies a snapshot twin per query) starts from a clean shared tree.
    if ((this.overlayItems?.size ?? 0) + (this.dead?.size ?? 0) > 0) this.rebuild();
    this.shared = true;
    copy.shared = true;
    copy.tree = this.tree;
    return copy;
  }
}
