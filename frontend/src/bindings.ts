/**
 * Arrow bindings and z-order in the client's reducer, mirroring board/document/bindings.py and
 * zorder.py exactly (integer math: the same point on every replica; docs/protocol.md §3.3).
 *
 * A bound endpoint is left + floor(width * fx / 1000), top + floor(height * fy / 1000) of the
 * target's box; the arrow is rewritten from its endpoints, the start clamped to ±COORD_MAX and
 * w, h to ±2·COORD_MAX. A binding whose target is missing or not bindable is kept and ignored.
 * An index target id -> bound lines/arrows, per elements Map, saves scanning the board on a move.
 */
import type { Binding, Element } from "./protocol";

const COORD_MAX = 10_000_000;
export const ANCHOR_MAX = 1000;
export const LINKED_TYPES: ReadonlySet<string> = new Set(["line", "arrow"]);
export const BINDABLE_TYPES: ReadonlySet<string> = new Set(["rect", "ellipse", "diamond", "note", "image", "frame"]);
/** `upd` keys after which bound arrows are resolved again. */
export const GEOMETRY_KEYS = ["x", "y", "w", "h"] as const;

type Elements = Map<string, Element>;
type Index = Map<string, Set<string>>;
/** What resolving reads: the elements by id. */
export interface Lookup {
  get(id: string): Element | undefined;
}

const indexes = new WeakMap<Elements, Index>();

const clamp = (v: number, limit: number) => (v > limit ? limit : v < -limit ? -limit : v);

/** The world point `binding` stands for on `target` (a bindable element). */
export function anchor(target: Element, binding: Binding): [number, number] {
  const w = target.w ?? 0;
  const h = target.h ?? 0;
  const left = w < 0 ? target.x + w : target.x;
  const top = h < 0 ? target.y + h : target.y;
  return [
    left + Math.floor((Math.abs(w) * binding.fx) / ANCHOR_MAX),
    top + Math.floor((Math.abs(h) * binding.fy) / ANCHOR_MAX),
  ];
}

function boundTarget(els: Lookup, binding: Binding | undefined): Element | undefined {
  if (!binding) return undefined;
  const target = els.get(binding.id);
  return target && BINDABLE_TYPES.has(target.type) ? target : undefined;
}

/** `arrow` with its geometry rewritten from whichever of its bindings have a target. */
export function resolved(els: Lookup, arrow: Element): Element {
  let x1 = arrow.x;
  let y1 = arrow.y;
  let x2 = x1 + (arrow.w ?? 0);
  let y2 = y1 + (arrow.h ?? 0);
  const start = boundTarget(els, arrow.sb);
  const end = boundTarget(els, arrow.eb);
  if (!start && !end) return arrow;
  if (start) [x1, y1] = anchor(start, arrow.sb!);
  if (end) [x2, y2] = anchor(end, arrow.eb!);
  x1 = clamp(x1, COORD_MAX);
  y1 = clamp(y1, COORD_MAX);
  const w = clamp(x2 - x1, 2 * COORD_MAX);
  const h = clamp(y2 - y1, 2 * COORD_MAX);
  if (x1 === arrow.x && y1 === arrow.y && w === arrow.w && h === arrow.h) return arrow;
  return { ...arrow, x: x1, y: y1, w, h };
}

export function targetsOf(el: Element): string[] {
  const out: string[] = [];
  if (el.sb) out.push(el.sb.id);
  if (el.eb && el.eb.id !== el.sb?.id) out.push(el.eb.id);
  return out;
}

function indexOf(els: Elements): Index {
  let index = indexes.get(els);
  if (!index) {
    index = new Map();
    for (const el of els.values()) if (LINKED_TYPES.has(el.type)) addTo(index, el);
    indexes.set(els, index);
  }
  return index;
}

function addTo(index: Index, el: Element): void {
  for (const target of targetsOf(el)) {
    let set = index.get(target);
    if (!set) index.set(target, (set = new Set()));
    set.add(el.id);
  }
}

/** Record `el`'s bindings (after it was added or its bindings changed). */
export function link(els: Elements, el: Element): void {
  if (LINKED_TYPES.has(el.type)) addTo(indexOf(els), el);
}

/** Forget `el`'s bindings (before it is deleted or its bindings change). */
export function unlink(els: Elements, el: Element): void {
  const index = indexes.get(els);
  if (!index || !LINKED_TYPES.has(el.type)) return;
  for (const target of targetsOf(el)) {
    const set = index.get(target);
    if (set) {
      set.delete(el.id);
      if (set.size === 0) index.delete(target);
    }
  }
}

/** The ids of the lines/arrows bound to `targetId`. */
export function boundTo(els: Elements, targetId: string): ReadonlySet<string> {
  return indexOf(els).get(targetId) ?? new Set();
}

/** Resolve every arrow bound to any of `targetIds` (after their geometry changed). */
export function follow(els: Elements, targetIds: Iterable<string>): void {
  const index = indexOf(els);
  if (index.size === 0) return;
  const arrows = new Set<string>();
  for (const id of targetIds) for (const arrow of index.get(id) ?? []) arrows.add(arrow);
  for (const id of arrows) {
    const arrow = els.get(id);
    if (arrow) els.set(id, resolved(els, arrow));
  }
}

/** Drop the index and resolve every bound arrow (after the board was replaced). */
export function followAll(els: Elements): void {
  indexes.delete(els);
  const index = indexOf(els);
  const arrows = new Set<string>();
  for (const set of index.values()) for (const id of set) arrows.add(id);
  for (const id of arrows) els.set(id, resolved(els, els.get(id)!));
}

/** The board's elements were cleared. */
export function forget(els: Elements): void {
  indexes.set(els, new Map());
}

/** A copy's index (the same bindings) so a cloned state need not rebuild it. */
export function shareIndex(from: Elements, to: Elements): void {
  const index = indexes.get(from);
  if (index) indexes.set(to, new Map([...index].map(([k, v]) => [k, new Set(v)])));
}

/**
 * Apply an `ord` in place: the listed elements on the board go, in their relative order,
 * directly above `after` (null: the bottom); nothing if `after` is missing or listed.
 */
export function reorder(els: Elements, ids: readonly string[], after: string | null): void {
  const named = new Set(ids.filter((id) => els.has(id)));
  if (named.size === 0 || (after !== null && (!els.has(after) || ids.includes(after)))) return;
  const moved: [string, Element][] = [];
  const rest: [string, Element][] = [];
  for (const entry of els) (named.has(entry[0]) ? moved : rest).push(entry);
  els.clear();
  if (after === null) for (const [k, v] of moved) els.set(k, v);
  for (const [k, v] of rest) {
    els.set(k, v);
    if (k === after) for (const [mk, mv] of moved) els.set(mk, mv);
  }
}

/**
 * The `ord` ops that put `removed` (re-added on top, in their old relative order) back where
 * they are in `els`: one per run of consecutive removed elements, above the element below the
 * run (zorder.py restore_z).
 */
export function restoreZ(els: Elements, removed: ReadonlySet<string>, maxIds: number): { k: "ord"; ids: string[]; after: string | null }[] {
  const out: { k: "ord"; ids: string[]; after: string | null }[] = [];
  let below: string | null = null;
  let anchor: string | null = null;
  let run: string[] = [];
  for (const id of els.keys()) {
    if (removed.has(id)) {
      if (run.length === 0) anchor = below;
      run.push(id);
      if (run.length === maxIds) {
        out.push({ k: "ord", ids: run, after: anchor });
        [anchor, run] = [id, []];
      }
    } else if (run.length > 0) {
      out.push({ k: "ord", ids: run, after: anchor });
      run = [];
    }
    below = id;
  }
  if (run.length > 0) out.push({ k: "ord", ids: run, after: anchor });
  return out;
}
