/**
 * The scene index: a mirror of the last board state it was given, with each element's z-order
 * and a spatial grid, so drawing a region or hit-testing a point looks only at what is there.
 *
 * `sync` compares the new state with the mirror element by element (elements are immutable, so
 * an unchanged element is the same object) and records what changed until the renderer takes
 * it: every path that changes the board (local and remote ops, undo, a restore, a reload, a
 * history preview) is covered by that one comparison.
 */
import { boundsOf, type BoardState, type Box } from "../ops";
import type { Element } from "../protocol";
import { GridIndex } from "./grid-index";

/** What changed since the renderer last asked. */
export interface SceneChanges {
  removed: Element[];
  /** Elements that look different, or moved up the z-order (an undone delete re-adds on top). */
  changed: { old: Element; el: Element }[];
  /** Elements new to the scene, bottom first: each is above everything that was there. */
  added: Element[];
}

/** The elements a region holds, in z-order: what hit tests need. */
export interface ElementQuery {
  query(box: Box): Element[];
}

const noChanges = (): SceneChanges => ({ removed: [], changed: [], added: [] });

/**
 * The ids of the elements a state changed in place since a version (the state object the same),
 * or null when it may have changed otherwise (SyncClient.touchedSince).
 */
export type TouchedSince = (version: number) => readonly string[] | null;

interface Entry {
  el: Element;
  /** Z-order key: larger is on top. */
  z: number;
  /** The sync that last saw it in the state. */
  seen: number;
}

export class SceneIndex implements ElementQuery {
  /** `bounds`: where an element may leave ink (the renderer's inkBounds; hit-test bounds in tests). */
  constructor(private readonly bounds: (el: Element) => Box = boundsOf) {}

  private readonly entries = new Map<string, Entry>();
  private readonly grid = new GridIndex();
  /**
   * Ids whose place in the grid is not yet set: bounds are found on the first query, not in
   * sync, so the frame a board loads in can draw its coarse picture (`all`) without them.
   */
  private readonly unplaced = new Set<string>();
  private nextZ = 0;
  private syncs = 0;
  private version: number | null = null;
  private state: BoardState | null = null;
  private changes = noChanges();

  get size(): number {
    return this.entries.size;
  }

  /** The z-order key of `id` (larger is on top), or -1 when it is not in the scene. */
  zOf(id: string): number {
    return this.entries.get(id)?.z ?? -1;
  }

  get(id: string): Element | undefined {
    return this.entries.get(id)?.el;
  }

  /**
   * Make the mirror equal `state`; `version` changes whenever the state's content does. One
   * pass over the state with one lookup per element, unless `touched` names the few elements
   * the same state object changed since the last sync (a stroke growing: each batch of points
   * then costs what it touched, not what the board holds).
   */
  sync(state: BoardState, version: number, touched?: TouchedSince): void {
    if (version === this.version) return;
    const last = this.version;
    this.version = version;
    if (touched && last !== null && state === this.state && this.syncTouched(state, touched(last))) return;
    this.state = state;
    const stamp = ++this.syncs;
    const changes = this.changes;
    let top = -1;
    // Entries seen in this pass: when they are all there are, nothing was removed.
    let seen = 0;
    for (const [id, el] of state.elements) {
      const entry = this.entries.get(id);
      if (entry && entry.z > top) {
        // Kept in its place in the z-order.
        seen++;
        entry.seen = stamp;
        const old = entry.el;
        if (old !== el) {
          entry.el = el;
          if (!sameLook(old, el)) {
            changes.changed.push({ old, el });
            this.unplaced.add(id);
          }
        }
        top = entry.z;
        continue;
      }
      // New, or now above elements it was below.
      const z = this.nextZ++;
      seen++;
      if (entry) {
        changes.changed.push({ old: entry.el, el });
        Object.assign(entry, { el, z, seen: stamp });
      } else {
        changes.added.push(el);
        this.entries.set(id, { el, z, seen: stamp });
      }
      this.unplaced.add(id);
      top = z;
    }
    if (seen === this.entries.size) return;
    for (const [id, entry] of this.entries) {
      if (entry.seen === stamp) continue;
      changes.removed.push(entry.el);
      this.entries.delete(id);
      this.unplaced.delete(id);
      this.grid.delete(id);
    }
  }

  /** Bring the elements `ids` up to date; false (nothing done) when one is new or gone. */
  private syncTouched(state: BoardState, ids: readonly string[] | null): boolean {
    if (ids === null) return false;
    for (const id of ids) if (!this.entries.has(id) || !state.elements.has(id)) return false;
    for (const id of ids) {
      const entry = this.entries.get(id)!;
      const el = state.elements.get(id)!;
      const old = entry.el;
      if (old === el) continue;
      entry.el = el;
      if (!sameLook(old, el)) {
        this.changes.changed.push({ old, el });
        this.unplaced.add(id);
      }
    }
    return true;
  }

  /** The changes since the last call, and start collecting anew. */
  takeChanges(): SceneChanges {
    const out = this.changes;
    this.changes = noChanges();
    return out;
  }

  /** Every element, bottom first (no bounds needed: what a first picture of everything draws). */
  all(): Element[] {
    return [...this.entries.values()].sort((a, b) => a.z - b.z).map((e) => e.el);
  }

  /** The elements whose bounds intersect `box`, bottom first. */
  query(box: Box): Element[] {
    for (const id of this.unplaced) this.grid.set(id, this.bounds(this.entries.get(id)!.el));
    this.unplaced.clear();
    const found = this.grid.search(box).map((id) => this.entries.get(id)!);
    found.sort((a, b) => a.z - b.z);
    return found.map((e) => e.el);
  }
}

/** Whether two versions of an element draw the same (an acked op replaces it with an equal copy). */
export function sameLook(a: Element, b: Element): boolean {
  const keys = Object.keys(a) as (keyof Element)[];
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    const x = a[key];
    const y = b[key];
    if (x === y) continue;
    if (Array.isArray(x) && Array.isArray(y)) {
      if (x.length !== y.length || x.some((v, k) => v !== y[k])) return false;
    } else if (key === "style") {
      const [sx, sy] = [a.style, b.style];
      if (Object.keys(sx).length !== Object.keys(sy).length) return false;
      for (const k of Object.keys(sx) as (keyof typeof sx)[]) if (sx[k] !== sy[k]) return false;
    } else {
      return false;
    }
  }
  return true;
}
