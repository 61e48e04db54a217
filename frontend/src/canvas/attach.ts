/**
 * Arrows that stay attached, on the editing side: which box a line's end binds to, the
 * highlight shown while drawing, dragging a selected line's endpoint, and dropping the bindings
 * of lines moved away from their boxes. The reducer keeps bound ends on their boxes
 * (bindings.ts); this module only decides the `sb`/`eb` a user gives.
 */
import { ANCHOR_MAX, BINDABLE_TYPES, boundTo, LINKED_TYPES, resolved } from "../bindings";
import { boundsOf, type BoardState } from "../ops";
import type { Binding, Element, ElementPatch } from "../protocol";
import type { NewOp } from "../sync";
import type { UndoEntry } from "../undo";
import type { ElementQuery } from "./scene";
import type { PointerSample, ToolHost } from "./tool";
import { hitSlop } from "./tool";
import { snapVector } from "./geometry";
import { hits } from "./hit";

/** The highlight around a box a line's end would bind to. */
const HIGHLIGHT = { color: "#2f6feb", width: 2, opacity: 0.6, fill: null };

/** The topmost box under (x, y) a line's end may bind to (never `exclude`), or null. */
export function bindTarget(scene: ElementQuery, x: number, y: number, slop: number, exclude = ""): Element | null {
  const els = scene.query({ minX: x - slop, minY: y - slop, maxX: x + slop, maxY: y + slop });
  for (let k = els.length - 1; k >= 0; k--) {
    const el = els[k];
    if (el.id !== exclude && BINDABLE_TYPES.has(el.type) && hits(el, x, y, slop)) return el;
  }
  return null;
}

/** The binding of a point to `target`: its place in per mille of the target's box. */
export function bindingAt(target: Element, x: number, y: number): Binding {
  const w = target.w ?? 0;
  const h = target.h ?? 0;
  const left = w < 0 ? target.x + w : target.x;
  const top = h < 0 ? target.y + h : target.y;
  const per = (v: number, size: number) =>
    size === 0 ? ANCHOR_MAX / 2 : Math.max(0, Math.min(ANCHOR_MAX, Math.round((v * ANCHOR_MAX) / size)));
  return { id: target.id, fx: per(x - left, Math.abs(w)), fy: per(y - top, Math.abs(h)) };
}

/** A draft outline around `target`, drawn while a line's end is over it. */
export function highlight(target: Element): Element {
  const b = boundsOf(target);
  const pad = 4;
  return {
    id: `bind-highlight-${target.id}`,
    type: "rect",
    x: Math.floor(b.minX - pad),
    y: Math.floor(b.minY - pad),
    w: Math.ceil(b.maxX - b.minX + 2 * pad),
    h: Math.ceil(b.maxY - b.minY + 2 * pad),
    style: { ...HIGHLIGHT },
  };
}

/** A freshly drawn line with its ends bound to the boxes under them (`p`: the last sample). */
export function bindEnds(host: ToolHost, el: Element, p: PointerSample): Element {
  if (!LINKED_TYPES.has(el.type)) return el;
  const slop = hitSlop(p, host.zoom());
  const scene = host.scene();
  const out: Element = { ...el };
  const start = bindTarget(scene, el.x, el.y, slop);
  const endX = el.x + (el.w ?? 0);
  const endY = el.y + (el.h ?? 0);
  const end = bindTarget(scene, endX, endY, slop);
  if (start) out.sb = bindingAt(start, el.x, el.y);
  if (end) out.eb = bindingAt(end, endX, endY);
  return out;
}

/** Arrows bound to `moved` elements, drawn where they will be once the move lands. */
export function followers(state: BoardState, moved: ReadonlyMap<string, Element>): Element[] {
  if (moved.size === 0) return [];
  const merged = { get: (id: string) => moved.get(id) ?? state.elements.get(id) };
  const arrows = new Set<string>();
  for (const id of moved.keys()) for (const arrow of boundTo(state.elements, id)) if (!moved.has(arrow)) arrows.add(arrow);
  return [...arrows].flatMap((id) => {
    const el = state.elements.get(id);
    return el ? [resolved(merged, el)] : [];
  });
}

/**
 * Before moving `ids`: the `upd` ops that unbind each moved line's end from a box that stays
 * (else the reducer would keep that end on the box), with their undo.
 */
export function detach(state: BoardState, ids: readonly string[]): { ops: NewOp[]; undo: NewOp[] } {
  const moving = new Set(ids);
  const ops: NewOp[] = [];
  const undo: NewOp[] = [];
  for (const id of ids) {
    const el = state.elements.get(id);
    if (!el || !LINKED_TYPES.has(el.type)) continue;
    const set: ElementPatch = {};
    const back: ElementPatch = {};
    for (const key of ["sb", "eb"] as const) {
      const b = el[key];
      if (b && !moving.has(b.id) && state.elements.has(b.id)) {
        set[key] = null;
        back[key] = b;
      }
    }
    if (Object.keys(set).length > 0) {
      ops.push({ k: "upd", id, set });
      undo.push({ k: "upd", id, set: back });
    }
  }
  return { ops, undo };
}

/**
 * Dragging an endpoint of the one selected line or arrow: the end follows the pointer and binds
 * to the box under it when dropped (or unbinds, dropped on empty space). One `upd`, one undo step.
 */
export class EndpointDrag {
  private line: Element | null = null;
  private end: "sb" | "eb" = "sb";
  private draft: Element | null = null;
  private target: Element | null = null;

  constructor(private readonly host: ToolHost) {}

  /** Start a drag if `p` is on an endpoint of the single selected line; true if it did. */
  down(p: PointerSample): boolean {
    const sel = this.host.selection;
    if (sel.size !== 1) return false;
    const el = this.host.view().elements.get([...sel][0]);
    if (!el || !LINKED_TYPES.has(el.type) || el.lock) return false;
    const slop = hitSlop(p, this.host.zoom()) * 1.5;
    const ex = el.x + (el.w ?? 0);
    const ey = el.y + (el.h ?? 0);
    if (Math.hypot(p.x - ex, p.y - ey) <= slop) this.end = "eb";
    else if (Math.hypot(p.x - el.x, p.y - el.y) <= slop) this.end = "sb";
    else return false;
    this.line = el;
    this.draft = null;
    return true;
  }

  get active(): boolean {
    return this.line !== null;
  }

  move(p: PointerSample): void {
    const el = this.line;
    if (!el) return;
    let x = Math.round(p.x);
    let y = Math.round(p.y);
    if (p.shift) {
      // At a multiple of 15° from the other end (geometry.ts snapVector).
      const [fx, fy] = this.end === "sb" ? [el.x + (el.w ?? 0), el.y + (el.h ?? 0)] : [el.x, el.y];
      const [dx, dy] = snapVector(x - fx, y - fy);
      [x, y] = [fx + dx, fy + dy];
    }
    const [x1, y1, x2, y2] =
      this.end === "sb" ? [x, y, el.x + (el.w ?? 0), el.y + (el.h ?? 0)] : [el.x, el.y, x, y];
    this.target = bindTarget(this.host.scene(), x, y, hitSlop(p, this.host.zoom()), el.id);
    this.draft = { ...el, x: x1, y: y1, w: x2 - x1, h: y2 - y1 };
  }

  up(): void {
    const el = this.line;
    const draft = this.draft;
    this.line = null;
    this.draft = null;
    if (!el || !draft) return;
    const point = this.end === "sb" ? [draft.x, draft.y] : [draft.x + (draft.w ?? 0), draft.y + (draft.h ?? 0)];
    const binding = this.target ? bindingAt(this.target, point[0], point[1]) : null;
    const set: ElementPatch = { x: draft.x, y: draft.y, w: draft.w, h: draft.h, [this.end]: binding };
    const before: ElementPatch = { x: el.x, y: el.y, w: el.w, h: el.h, [this.end]: el[this.end] ?? null };
    this.target = null;
    this.host.submit([{ k: "upd", id: el.id, set }]);
    const entry: UndoEntry = {
      undo: () => [{ k: "upd", id: el.id, set: before }],
      redo: () => [{ k: "upd", id: el.id, set }],
    };
    this.host.record(entry);
  }

  drafts(): Element[] {
    if (!this.draft) return [];
    return this.target ? [this.draft, highlight(this.target)] : [this.draft];
  }
}

/** The topmost unlocked element under (x, y): what a click selects or the eraser takes. */
export function topmostFree(scene: ElementQuery, x: number, y: number, slop: number): Element | null {
  const els = scene.query({ minX: x - slop, minY: y - slop, maxX: x + slop, maxY: y + slop });
  for (let k = els.length - 1; k >= 0; k--) if (!els[k].lock && hits(els[k], x, y, slop)) return els[k];
  return null;
}
