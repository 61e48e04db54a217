/**
 * Arrow-key nudges of a selection as undo steps: the nudges that follow each other on one
 * selection, with no other undo step between them, are one step (as in Excalidraw and tldraw),
 * so holding an arrow key down is undone by one Ctrl+Z.
 */
import { detach } from "./canvas/attach";
import type { BoardState } from "./ops";
import type { NewOp } from "./sync";
import { movedEntry, type UndoEntry, type UndoStack } from "./undo";

interface Run {
  entry: UndoEntry;
  /** The selection nudged (sorted ids, joined). */
  key: string;
  ids: string[];
  dx: number;
  dy: number;
  /** Lines let go of their boxes along the way, in order: each nudge's `detach`. */
  loose: NewOp[];
  bound: NewOp[];
}

export class Nudges {
  private run: Run | null = null;

  constructor(private readonly stack: UndoStack) {}

  /** Nudge `ids` (none locked) by (dx, dy) in `view`: the ops to submit; the undo step is kept. */
  nudge(view: BoardState, ids: readonly string[], dx: number, dy: number): NewOp[] {
    // A line nudged away from its box lets go of it (attach.ts), the first time only.
    const loose = detach(view, ids);
    const key = [...ids].sort().join("\n");
    let run = this.run;
    if (!run || run.key !== key || this.stack.top !== run.entry) {
      run = { entry: { undo: () => [], redo: () => [] }, key, ids: [...ids], dx: 0, dy: 0, loose: [], bound: [] };
      const r = run;
      // Undo takes back the whole run; redo replays it as one move.
      r.entry = {
        undo: (state) => [...movedEntry(r.ids, r.dx, r.dy).undo(state), ...r.bound],
        redo: (state) => [...r.loose, ...movedEntry(r.ids, r.dx, r.dy).redo(state)],
      };
      this.stack.push(r.entry);
      this.run = r;
    }
    run.dx += dx;
    run.dy += dy;
    run.loose.push(...loose.ops);
    run.bound.unshift(...loose.undo);
    return [...loose.ops, { k: "mov", ids: [...ids], dx, dy }];
  }
}
