/**
 * The client's board state and `applyOp`, mirroring the server reducer (docs/protocol.md §3).
 *
 * `applyOp` is total: an op that would be rejected by the server (an `add` whose id exists, an
 * `app`/`upd` naming a missing element) leaves the state unchanged instead of throwing, because
 * the client also replays its optimistic ops on top of newer confirmed state where such
 * conflicts are expected. Elements are immutable values: a changed element is a new object, so
 * renderers may cache derived geometry per element object.
 */
import { BINDABLE_TYPES, follow, followAll, forget, GEOMETRY_KEYS, link, LINKED_TYPES, reorder, resolved, shareIndex, unlink } from "./bindings";
import { DEFAULT_LABEL_SIZE, isLabelled, LABELLED_TYPES, LINE_HEIGHT, textBoxLines, textExtent } from "./canvas/text-layout";
import type { Element, ElementPatch, Op } from "./protocol";

/** The board at a seq. `elements` iterates in z-order (Map insertion order: last is on top). */
export interface BoardState {
  seq: number;
  elements: Map<string, Element>;
}

export function emptyState(seq = 0): BoardState {
  return { seq, elements: new Map() };
}

export function stateFromElements(seq: number, els: readonly Element[]): BoardState {
  const elements = new Map<string, Element>();
  for (const el of els) elements.set(el.id, el);
  return { seq, elements };
}

/** A copy that can be reduced without touching `state` (elements are shared: immutable). */
export function cloneState(state: BoardState): BoardState {
  const elements = new Map(state.elements);
  shareIndex(state.elements, elements);
  return { seq: state.seq, elements };
}

/** Coordinates are clamped to ±COORD_MAX world units (docs/protocol.md §3.1). */
export const COORD_MAX = 10_000_000;
/** Pressure filled in when a pressure stroke gets an append without `pr` (server default). */
export const DEFAULT_PRESSURE = 50;

/** Which `upd` keys apply to which element type (board/document/reducer.py UPDATABLE). */
export const UPDATABLE: Record<string, readonly string[]> = {
  stroke: ["x", "y", "rot", "sx", "sy"],
  text: ["x", "y", "text", "size", "align", "w", "rot"],
  rect: ["x", "y", "w", "h", "rot"],
  ellipse: ["x", "y", "w", "h", "rot"],
  line: ["x", "y", "w", "h", "rot"],
  arrow: ["x", "y", "w", "h", "rot"],
  // Box shapes (rect, ellipse, diamond, note) carry a label.
  ...Object.fromEntries(LABELLED_TYPES.map((t) => [t, ["x", "y", "w", "h", "text", "size", "align", "rot"]])),
  frame: ["x", "y", "w", "h", "name", "rot"],
  image: ["x", "y", "w", "h", "rot"],
};
// Groups and lock on every type, bindings on lines and arrows (reducer.py does the same).
for (const [type, keys] of Object.entries(UPDATABLE)) {
  UPDATABLE[type] = [...keys, "grp", "lock", ...(LINKED_TYPES.has(type) ? ["sb", "eb"] : [])];
}
/** Keys a type requires (validate.py ELEMENT_KEYS): an `upd` null cannot remove them. */
const REQUIRED: Record<string, readonly string[]> = { stroke: ["p"], text: ["text", "size"] };
/** Wrap width bounds of a text (`w`); the reducer skips a value outside (a shape's, stale). */
export const TEXT_WRAP_MAX = 20_000;

/** Style keys an `upd` removes when it sets them to null (board/document/validate.py STYLE_ENUMS). */
const REMOVABLE_STYLE = new Set(["dash", "fs", "font"]);

const clamp = (v: number) => Math.max(-COORD_MAX, Math.min(COORD_MAX, v));

function patched(el: Element, set: ElementPatch): Element {
  const next: Element = { ...el, style: { ...el.style } };
  if (set.style) {
    const style = next.style as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(set.style)) {
      if (value === null && REMOVABLE_STYLE.has(key)) delete style[key];
      else if (value !== undefined) style[key] = value;
    }
  }
  const out = next as unknown as Record<string, unknown>;
  for (const key of UPDATABLE[el.type] ?? []) {
    const value = (set as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (value === null) {
      if (!(REQUIRED[el.type] ?? ["w", "h"]).includes(key)) delete out[key];
    } else if (!(key === "w" && el.type === "text" && ((value as number) < 1 || (value as number) > TEXT_WRAP_MAX))) {
      out[key] = value;
    }
  }
  return next;
}

function appended(el: Element, p: readonly number[], pr?: readonly number[]): Element {
  if (el.type !== "stroke") return el;
  const next: Element = { ...el, p: [...(el.p ?? []), ...p] };
  if (el.pr !== undefined) {
    // Keep `pr` aligned with the points even if a sender omitted it (server requires both).
    const fill = pr ?? new Array<number>(p.length / 2).fill(DEFAULT_PRESSURE);
    next.pr = [...el.pr, ...fill];
  }
  return next;
}

/** An `upd`: patch, then keep bindings (index and geometry) in step, as reducer.py does. */
function updated(els: Map<string, Element>, el: Element, set: ElementPatch): void {
  const relinked = LINKED_TYPES.has(el.type) && ("sb" in set || "eb" in set);
  if (relinked) unlink(els, el);
  const next = patched(el, set);
  els.set(next.id, next);
  if (relinked) link(els, next);
  if (!relinked && !GEOMETRY_KEYS.some((key) => key in set)) return;
  if (BINDABLE_TYPES.has(next.type)) follow(els, [next.id]);
  else if (LINKED_TYPES.has(next.type)) els.set(next.id, resolved(els, next));
}

/** Apply one op to `state` in place (the Map is mutated, elements are replaced). */
export function applyOp(state: BoardState, op: Op): BoardState {
  const els = state.elements;
  switch (op.k) {
    case "add":
      if (!els.has(op.el.id)) {
        els.set(op.el.id, op.el);
        if (BINDABLE_TYPES.has(op.el.type)) follow(els, [op.el.id]);
        else if (op.el.sb || op.el.eb) {
          link(els, op.el);
          els.set(op.el.id, resolved(els, op.el));
        }
      }
      break;
    case "app": {
      const el = els.get(op.id);
      if (el) els.set(op.id, appended(el, op.p, op.pr));
      break;
    }
    case "upd": {
      const el = els.get(op.id);
      if (el) updated(els, el, op.set);
      break;
    }
    case "mov":
      // An id named twice moves once (as the server does).
      for (const id of new Set(op.ids)) {
        const el = els.get(id);
        if (el) els.set(id, { ...el, x: clamp(el.x + op.dx), y: clamp(el.y + op.dy) });
      }
      // Arrows follow their targets, and a moved arrow's bound ends stay put (as reducer.py).
      follow(els, op.ids);
      for (const id of new Set(op.ids)) {
        const el = els.get(id);
        if (el && (el.sb || el.eb)) els.set(id, resolved(els, el));
      }
      break;
    case "del":
      for (const id of op.ids) {
        const el = els.get(id);
        if (el) unlink(els, el);
        els.delete(id);
      }
      break;
    case "clr":
      els.clear();
      forget(els);
      break;
    case "rst":
      els.clear();
      // The first of duplicate ids wins, as on the server.
      for (const el of op.els) if (!els.has(el.id)) els.set(el.id, el);
      followAll(els);
      break;
    case "ord":
      reorder(els, op.ids, op.after);
      break;
  }
  return state;
}

/**
 * A stroke's points in absolute world coordinates [x0, y0, x1, ...] as drawn: the deltas summed,
 * then scaled by `sx`, `sy` about (x, y) (board.document.points.drawn_points); not rotated.
 */
export function absolutePoints(el: Element): number[] {
  const p = el.p ?? [];
  const out = new Array<number>(p.length);
  const sx = el.sx ?? 1;
  const sy = el.sy ?? 1;
  let x = 0;
  let y = 0;
  for (let k = 0; k + 1 < p.length; k += 2) {
    x += p[k];
    y += p[k + 1];
    out[k] = el.x + x * sx;
    out[k + 1] = el.y + y * sy;
  }
  return out;
}

export interface Box {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

/**
 * The element's bounding box in world units, padded by half its stroke width; a rotated
 * element's box encloses its unrotated one turned about that box's centre (geometry.py bbox).
 */
export function elementBounds(el: Element): Box {
  const box = unrotatedBounds(el);
  return el.rot ? rotatedBox(box, el.rot) : box;
}

/** The box enclosing `box` turned by `rot` degrees (clockwise, y down) about its centre. */
export function rotatedBox(box: Box, rot: number): Box {
  const rad = (rot * Math.PI) / 180;
  const cos = Math.abs(Math.cos(rad));
  const sin = Math.abs(Math.sin(rad));
  const hw = (box.maxX - box.minX) / 2;
  const hh = (box.maxY - box.minY) / 2;
  const cx = (box.minX + box.maxX) / 2;
  const cy = (box.minY + box.maxY) / 2;
  const rx = hw * cos + hh * sin;
  const ry = hw * sin + hh * cos;
  return { minX: cx - rx, minY: cy - ry, maxX: cx + rx, maxY: cy + ry };
}

/** `elementBounds` as if `rot` were 0: its centre is what `rot` turns the element about. */
export function unrotatedBounds(el: Element): Box {
  const pad = el.style.width / 2;
  if (el.type === "stroke") {
    // The points' box (the origin only without points), as the server's: its centre is
    // what a rotation turns the stroke about, on the canvas and in exports alike.
    const pts = absolutePoints(el);
    let minX = pts.length ? pts[0] : el.x;
    let minY = pts.length ? pts[1] : el.y;
    let maxX = minX;
    let maxY = minY;
    for (let k = 0; k + 1 < pts.length; k += 2) {
      minX = Math.min(minX, pts[k]);
      maxX = Math.max(maxX, pts[k]);
      minY = Math.min(minY, pts[k + 1]);
      maxY = Math.max(maxY, pts[k + 1]);
    }
    return { minX: minX - pad, minY: minY - pad, maxX: maxX + pad, maxY: maxY + pad };
  }
  if (el.type === "text") {
    // The layout's estimate (text-layout.ts), as the export's bbox: good for hit tests and fit.
    const [w, h] = textExtent(el);
    return { minX: el.x, minY: el.y, maxX: el.x + Math.max(w, 1), maxY: el.y + h };
  }
  const x2 = el.x + (el.w ?? 0);
  const y2 = el.y + (el.h ?? 0);
  const box = {
    minX: Math.min(el.x, x2) - pad,
    minY: Math.min(el.y, y2) - pad,
    maxX: Math.max(el.x, x2) + pad,
    maxY: Math.max(el.y, y2) + pad,
  };
  // As board/document/geometry.py: a note has no outline but a shadow; a frame's name is above it.
  if (el.type === "note") {
    box.maxX += NOTE_SHADOW_OFFSET - pad;
    box.maxY += NOTE_SHADOW_OFFSET - pad;
    box.minX += pad;
    box.minY += pad;
  }
  if (el.type === "frame" && el.name) {
    box.minY = Math.min(box.minY, Math.min(el.y, y2) - FRAME_LABEL_GAP - FRAME_LABEL_SIZE);
    box.maxX = Math.max(box.maxX, Math.min(el.x, x2) + el.name.length * FRAME_LABEL_SIZE * 0.6);
  }
  if (el.text && isLabelled(el)) {
    // A label taller than its shape spills out above and below, centred on it.
    const spill = (textBoxLines(el).length * (el.size ?? DEFAULT_LABEL_SIZE) * LINE_HEIGHT - Math.abs(el.h ?? 0)) / 2;
    if (spill > pad) {
      box.minY -= spill - pad;
      box.maxY += spill - pad;
    }
  }
  return box;
}

/** A frame's name: font size and gap above the frame; a note's shadow offset (world units). */
export const FRAME_LABEL_SIZE = 14;
export const FRAME_LABEL_GAP = 6;
export const NOTE_SHADOW_OFFSET = 4;

const boundsCache = new WeakMap<Element, Box>();

/** `elementBounds`, cached per element object (elements are immutable, so never stale). */
export function boundsOf(el: Element): Box {
  let box = boundsCache.get(el);
  if (!box) {
    box = elementBounds(el);
    boundsCache.set(el, box);
  }
  return box;
}

/** Canonical JSON-able form of a state, for comparing client and server state in tests. */
export function stateSnapshot(state: BoardState): { seq: number; elements: Element[] } {
  return { seq: state.seq, elements: [...state.elements.values()] };
}
