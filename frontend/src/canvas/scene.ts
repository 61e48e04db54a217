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

export class SceneIndex implements ElementQuery {
  /** `bounds`: where an element may leave ink (the renderer's inkBounds; hit-test bounds in tests). */
  constructor(private readonly bounds: (el: Element) => Box = boundsOf) {}

  private readonly elements = new Map<string, Element>();
  private readonly z = new Map<string, number>();
  private readonly grid = new GridIndex();
  private nextZ = 0;
  private version: number | null = null;
  private changes = noChanges();

  get size(): number {
    return this.elements.size;
  }

  /** The z-order key of `id` (larger is on top), or -1 when it is not in the scene. */
  zOf(id: string): number {
    return this.z.get(id) ?? -1;
  }

  get(id: string): Element | undefined {
    return this.elements.get(id);
  }

  /** Make the mirror equal `state`; `version` changes whenever the state's content does. */
  sync(state: BoardState, version: number): void {
    if (version === this.version) return;
    this.version = version;
    const next = state.elements;
    for (const [id, old] of this.elements) {
      if (!next.has(id)) this.remove(id, old);
    }
    const changes = this.changes;
    let top = -1;
    for (const [id, el] of next) {
      const old = this.elements.get(id);
      let z = old === undefined ? -1 : this.z.get(id)!;
      if (old !== undefined && z > top) {
        // Kept in its place in the z-order.
        if (old !== el) {
          this.elements.set(id, el);
          if (!sameLook(old, el)) {
            changes.changed.push({ old, el });
            this.grid.set(id, this.bounds(el));
          }
        }
      } else {
        // New, or now above elements it was below.
        z = this.nextZ++;
        this.z.set(id, z);
        this.elements.set(id, el);
        this.grid.set(id, this.bounds(el));
        if (old === undefined) changes.added.push(el);
        else changes.changed.push({ old, el });
      }
      top = z;
    }
  }

  /** The changes since the last call, and start collecting anew. */
  takeChanges(): SceneChanges {
    const out = this.changes;
    this.changes = noChanges();
    return out;
  }

  /** The elements whose bounds intersect `box`, bottom first. */
  query(box: Box): Element[] {
    const ids = this.grid.search(box);
    ids.sort((a, b) => this.z.get(a)! - this.z.get(b)!);
    return ids.map((id) => this.elements.get(id)!);
  }

  private remove(id: string, old: Element): void {
    this.changes.removed.push(old);
    this.elements.delete(id);
    this.z.delete(id);
    this.grid.delete(id);
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
