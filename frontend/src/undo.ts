/**
 * Undo/redo of this client's own actions, expressed as inverse ops so they sync like any edit.
 *
 * An entry computes its ops when it is undone or redone, against the state at that moment:
 * undoing a stroke captures its final form (after every `app`) for the redo to re-add.
 */
import { restoreZ } from "./bindings";
import { UPDATABLE, type BoardState } from "./ops";
import type { Element, ElementPatch } from "./protocol";
import type { NewOp } from "./sync";

/** The server accepts at most this many ids per `mov`/`del` op (docs/protocol.md §3.2). */
export const MAX_IDS_PER_OP = 10_000;
/** Older entries are forgotten: memory, and undoing hour-old work is rarely wanted. */
export const MAX_UNDO_DEPTH = 200;

export interface UndoEntry {
  undo(state: BoardState): NewOp[];
  redo(state: BoardState): NewOp[];
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let k = 0; k < items.length; k += size) out.push(items.slice(k, k + size));
  return out;
}

export function deleteOps(ids: readonly string[]): NewOp[] {
  return chunks(ids, MAX_IDS_PER_OP).map((part) => ({ k: "del", ids: part }));
}

/**
 * The ops that add `els` on top, in order. An `add` may only bind to an element already on
 * the board, so a binding to one added later in the list (an arrow beneath its box) is set by
 * an `upd` once all are added. A stroke too long for one frame is split by SyncClient.submit.
 */
export function addOps(els: readonly Element[]): NewOp[] {
  const adds: NewOp[] = [];
  const later: NewOp[] = [];
  const coming = new Set(els.map((el) => el.id));
  for (const el of els) {
    coming.delete(el.id);
    const copy = { ...el };
    const set: ElementPatch = {};
    for (const end of ["sb", "eb"] as const) {
      const b = el[end];
      if (b && coming.has(b.id)) {
        set[end] = b;
        delete copy[end];
      }
    }
    adds.push({ k: "add", el: copy });
    if (Object.keys(set).length > 0) later.push({ k: "upd", id: el.id, set });
  }
  return [...adds, ...later];
}

/** Undo = delete what was added (as it is now); redo = add it back. */
export function addedEntry(ids: readonly string[]): UndoEntry {
  let saved: Element[] = [];
  return {
    undo(state) {
      saved = ids.map((id) => state.elements.get(id)).filter((el): el is Element => !!el);
      return deleteOps(saved.map((el) => el.id));
    },
    redo(state) {
      return addOps(saved.filter((el) => !state.elements.has(el.id)));
    },
  };
}

/**
 * Undo = re-add what was deleted (or cleared), then `restore` (the `ord` ops that put it back in
 * z-order: bindings.ts restoreZ); redo = delete those ids again.
 */
export function deletedEntry(els: readonly Element[], restore: readonly NewOp[] = []): UndoEntry {
  return {
    undo(state) {
      const adds = addOps(els.filter((el) => !state.elements.has(el.id)));
      return adds.length > 0 ? [...adds, ...restore] : [];
    },
    redo() {
      return deleteOps(els.map((el) => el.id));
    },
  };
}

/**
 * Undo of a `clr`: everything re-added as it was, in its old z-order and beneath whatever others
 * added since (it was the whole board, so it goes back to the bottom); redo clears it again.
 */
export function clearedEntry(elements: ReadonlyMap<string, Element>): UndoEntry {
  const all = new Map(elements);
  return deletedEntry([...all.values()], restoreZ(all, new Set(all.keys()), MAX_IDS_PER_OP));
}

export function movedEntry(ids: readonly string[], dx: number, dy: number): UndoEntry {
  return {
    undo: () => chunks(ids, MAX_IDS_PER_OP).map((part) => ({ k: "mov", ids: part, dx: -dx, dy: -dy })),
    redo: () => chunks(ids, MAX_IDS_PER_OP).map((part) => ({ k: "mov", ids: part, dx, dy })),
  };
}

/**
 * The patch undoing `set` on `el` (board/document/inverse.py _undo_upd): the old value of every
 * key the type lets `set` change, null for an optional key `el` lacks (removed again).
 */
export function inversePatch(el: Element, set: ElementPatch): ElementPatch {
  const old: Record<string, unknown> = {};
  const allowed = UPDATABLE[el.type] ?? [];
  for (const key of Object.keys(set)) {
    if (key === "style") {
      const style: Record<string, unknown> = {};
      for (const k of Object.keys(set.style ?? {})) if (k in el.style) style[k] = (el.style as unknown as Record<string, unknown>)[k];
      old.style = style;
    } else if (allowed.includes(key)) {
      old[key] = (el as unknown as Record<string, unknown>)[key] ?? null;
    }
  }
  return old as ElementPatch;
}

export function updatedEntry(id: string, before: ElementPatch, after: ElementPatch): UndoEntry {
  return {
    undo: () => [{ k: "upd", id, set: before }],
    redo: () => [{ k: "upd", id, set: after }],
  };
}

export class UndoStack {
  private readonly done: UndoEntry[] = [];
  private readonly undone: UndoEntry[] = [];

  push(entry: UndoEntry): void {
    this.done.push(entry);
    if (this.done.length > MAX_UNDO_DEPTH) this.done.shift();
    this.undone.length = 0;
  }

  undo(state: BoardState): NewOp[] | null {
    const entry = this.done.pop();
    if (!entry) return null;
    this.undone.push(entry);
    return entry.undo(state);
  }

  redo(state: BoardState): NewOp[] | null {
    const entry = this.undone.pop();
    if (!entry) return null;
    this.done.push(entry);
    return entry.redo(state);
  }

  /** The step an undo would take back next (nudge.ts extends it while the keys keep coming). */
  get top(): UndoEntry | undefined {
    return this.done.at(-1);
  }

  /** Forget every step (a restore by someone else replaced what they would undo). */
  clear(): void {
    this.done.length = 0;
    this.undone.length = 0;
  }

  get canUndo(): boolean {
    return this.done.length > 0;
  }

  get canRedo(): boolean {
    return this.undone.length > 0;
  }
}
