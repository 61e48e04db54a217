/**
 * Arranging a selection: z-order, groups, lock, align and distribute, as ops plus the undo
 * entry that reverts them (one step each). Pure functions of the board: the editor submits.
 * Loaded on first use (ui/structure-ui.ts); what selecting needs is groups.ts.
 *
 * Z-order moves become one `ord` op, computed here from the order the client sees (the server
 * only applies it: docs/protocol.md §3.3). Groups are the `grp` key of each member (innermost
 * first): a group is the elements whose `grp` holds its id.
 */
import { boundsOf, type BoardState, type Box } from "../ops";
import type { Element, ElementPatch } from "../protocol";
import type { NewOp } from "../sync";
import { MAX_IDS_PER_OP, type UndoEntry } from "../undo";
import { outermost } from "./groups";
import { newElementId } from "./tool";

export type ZMove = "forward" | "backward" | "front" | "back";
export type Alignment = "left" | "centre" | "right" | "top" | "middle" | "bottom";
export type Distribution = "horizontal" | "vertical";

/** Nested groups an element may be in (the server refuses more: protocol.md §3.1). */
export const MAX_GROUP_DEPTH = 8;

export interface Arranged {
  ops: NewOp[];
  entry: UndoEntry;
}

const present = (state: BoardState, ids: Iterable<string>): Element[] =>
  [...ids].map((id) => state.elements.get(id)).filter((el): el is Element => el !== undefined);

/** The `ord` ops that undo `op` on `state` (before it): each moved element above its old predecessor. */
export function undoOrder(state: BoardState, ids: readonly string[], after: string | null): NewOp[] {
  if (after !== null && (!state.elements.has(after) || ids.includes(after))) return [];
  const named = new Set(ids);
  const out: NewOp[] = [];
  let below: string | null = null;
  for (const id of state.elements.keys()) {
    if (named.has(id)) out.push({ k: "ord", ids: [id], after: below });
    below = id;
  }
  return out;
}

/** The `ord` that makes `move` happen to the selection, or null when it changes nothing. */
export function orderOp(state: BoardState, selection: ReadonlySet<string>, move: ZMove): NewOp | null {
  const order = [...state.elements.keys()];
  const picked = order.filter((id) => selection.has(id));
  if (picked.length === 0 || picked.length > MAX_IDS_PER_OP) return null;
  const first = order.indexOf(picked[0]);
  const last = order.indexOf(picked[picked.length - 1]);
  const contiguous = last - first + 1 === picked.length;
  let after: string | null;
  if (move === "front") {
    if (contiguous && last === order.length - 1) return null;
    after = [...order].reverse().find((id) => !selection.has(id)) ?? null;
    if (after === null) return null;
  } else if (move === "back") {
    if (contiguous && first === 0) return null;
    after = null;
  } else if (move === "forward") {
    // Above the first other element over the topmost selected one.
    const above = order.slice(last + 1).find((id) => !selection.has(id));
    if (above === undefined) return null;
    after = above;
  } else {
    // Below the first other element under the bottommost selected one.
    const under = order.slice(0, first).reverse().find((id) => !selection.has(id));
    if (under === undefined) return null;
    const k = order.indexOf(under);
    after = k === 0 ? null : order[k - 1];
  }
  return { k: "ord", ids: picked, after };
}

export function arrangeOrder(state: BoardState, selection: ReadonlySet<string>, move: ZMove): Arranged | null {
  const op = orderOp(state, selection, move);
  if (!op || op.k !== "ord") return null;
  const undo = undoOrder(state, op.ids, op.after);
  return { ops: [op], entry: { undo: () => undo, redo: () => [op] } };
}

/** `upd` ops with an undo entry that sets each element's keys back (null: they were absent). */
function patches(els: readonly Element[], patch: (el: Element) => ElementPatch | null): Arranged | null {
  const ops: NewOp[] = [];
  const back: NewOp[] = [];
  for (const el of els) {
    const set = patch(el);
    if (!set) continue;
    const before: Record<string, unknown> = {};
    for (const key of Object.keys(set)) before[key] = (el as unknown as Record<string, unknown>)[key] ?? null;
    ops.push({ k: "upd", id: el.id, set });
    back.push({ k: "upd", id: el.id, set: before as ElementPatch });
  }
  if (ops.length === 0) return null;
  return { ops, entry: { undo: () => back, redo: () => ops } };
}

/** Ctrl+G: a fresh group, outermost, around the selection (two or more elements). */
export function group(state: BoardState, selection: ReadonlySet<string>): Arranged | null {
  const els = present(state, selection);
  if (els.length < 2 || els.some((el) => (el.grp?.length ?? 0) >= MAX_GROUP_DEPTH)) return null;
  const id = newElementId();
  return patches(els, (el) => ({ grp: [...(el.grp ?? []), id] }));
}

/** Ctrl+Shift+G: each selected element leaves its outermost group. */
export function ungroup(state: BoardState, selection: ReadonlySet<string>): Arranged | null {
  return patches(present(state, selection), (el) => {
    if (!el.grp) return null;
    return { grp: el.grp.length > 1 ? el.grp.slice(0, -1) : null };
  });
}

/** Ctrl+Shift+L: lock the selection, or unlock it if every element is locked already. */
export function toggleLock(state: BoardState, selection: ReadonlySet<string>): Arranged | null {
  const els = present(state, selection);
  const lock = els.some((el) => !el.lock);
  return patches(els, (el) => (lock ? (el.lock ? null : { lock: true }) : { lock: null }));
}

interface Unit {
  ids: string[];
  box: Box;
}

/** The selection as units that move together: each outermost group, and each loose element. */
function units(state: BoardState, selection: ReadonlySet<string>): Unit[] {
  const byKey = new Map<string, Unit>();
  for (const el of present(state, selection)) {
    if (el.lock) continue;
    const key = outermost(el) ?? `#${el.id}`;
    const b = boundsOf(el);
    const u = byKey.get(key);
    if (!u) byKey.set(key, { ids: [el.id], box: { ...b } });
    else {
      u.ids.push(el.id);
      u.box = {
        minX: Math.min(u.box.minX, b.minX),
        minY: Math.min(u.box.minY, b.minY),
        maxX: Math.max(u.box.maxX, b.maxX),
        maxY: Math.max(u.box.maxY, b.maxY),
      };
    }
  }
  return [...byKey.values()];
}

/** `mov` ops, one per distinct offset, and their undo (one step). */
function moves(shifts: [Unit, number, number][]): Arranged | null {
  const byDelta = new Map<string, NewOp & { k: "mov" }>();
  for (const [u, dx, dy] of shifts) {
    if (dx === 0 && dy === 0) continue;
    const key = `${dx},${dy}`;
    const op = byDelta.get(key) ?? { k: "mov", ids: [], dx, dy };
    op.ids.push(...u.ids);
    byDelta.set(key, op);
  }
  const ops = [...byDelta.values()];
  if (ops.length === 0) return null;
  const back: NewOp[] = ops.map((op) => ({ ...op, dx: -op.dx, dy: -op.dy }));
  return { ops, entry: { undo: () => back, redo: () => ops } };
}

/** Align the selection's units to the edge or centre of their common box. */
export function align(state: BoardState, selection: ReadonlySet<string>, how: Alignment): Arranged | null {
  const us = units(state, selection);
  if (us.length < 2) return null;
  const minX = Math.min(...us.map((u) => u.box.minX));
  const maxX = Math.max(...us.map((u) => u.box.maxX));
  const minY = Math.min(...us.map((u) => u.box.minY));
  const maxY = Math.max(...us.map((u) => u.box.maxY));
  return moves(
    us.map((u): [Unit, number, number] => {
      const b = u.box;
      switch (how) {
        case "left":
          return [u, Math.round(minX - b.minX), 0];
        case "right":
          return [u, Math.round(maxX - b.maxX), 0];
        case "centre":
          return [u, Math.round((minX + maxX) / 2 - (b.minX + b.maxX) / 2), 0];
        case "top":
          return [u, 0, Math.round(minY - b.minY)];
        case "bottom":
          return [u, 0, Math.round(maxY - b.maxY)];
        case "middle":
          return [u, 0, Math.round((minY + maxY) / 2 - (b.minY + b.maxY) / 2)];
      }
    }),
  );
}

/** Equal gaps between the selection's units (three or more), the outer two staying put. */
export function distribute(state: BoardState, selection: ReadonlySet<string>, axis: Distribution): Arranged | null {
  const us = units(state, selection);
  if (us.length < 3) return null;
  const lo = (b: Box) => (axis === "horizontal" ? b.minX : b.minY);
  const hi = (b: Box) => (axis === "horizontal" ? b.maxX : b.maxY);
  us.sort((a, b) => lo(a.box) + hi(a.box) - (lo(b.box) + hi(b.box)));
  const start = lo(us[0].box);
  const end = Math.max(...us.map((u) => hi(u.box)));
  const sizes = us.reduce((sum, u) => sum + hi(u.box) - lo(u.box), 0);
  const gap = (end - start - sizes) / (us.length - 1);
  let at = start;
  return moves(
    us.map((u): [Unit, number, number] => {
      const d = Math.round(at - lo(u.box));
      at += hi(u.box) - lo(u.box) + gap;
      return axis === "horizontal" ? [u, d, 0] : [u, 0, d];
    }),
  );
}
