/**
 * Arrow-key nudges of a selection as undo steps: the nudges that follow each other on one
 * selection, with no other undo step between them, are one step (as in Excalidraw and tldraw),
 * so holding an arrow key down is undone by one Ctrl+Z.
 */
import { detach } from "./canvas/attach";
import type { BoardState } from "./ops";
import type { NewOp } from "./sync";
import { movedEntry, type UndoEntry, type UndoStack } from "./undo";

/** One run of nudges: the whole offset, and the lines it let go of their boxes on the way. */
class NudgeRun implements UndoEntry {
  dx = 0;
  dy = 0;
  private readonly loose: NewOp[] = [];
  private readonly bound: NewOp[] = [];

  constructor(
    readonly key: string,
    private readonly ids: readonly string[],
  ) {}

  add(dx: number, dy: number, loose: { ops: NewOp[]; undo: NewOp[] }): void {
    this.dx += dx;
    this.dy += dy;
    this.loose.push(...loose.ops);
    this.bound.unshift(...loose.undo);
  }

  undo(state: BoardState): NewOp[] {
    return [...movedEntry(this.ids, this.dx, this.dy).undo(state), ...this.bound];
  }

  redo(state: BoardState): NewOp[] {
    return [...this.loose, ...movedEntry(this.ids, this.dx, this.dy).redo(state)];
  }
}

export class Nudges {
  private run: NudgeRun | null = null;

  constructor(private readonly stack: UndoStack) {}

  /** Nudge `ids` (none locked) by (dx, dy) in `view`: the ops to submit; the undo step is kept. */
  nudge(view: BoardState, ids: readonly string[], dx: number, dy: number): NewOp[] {
    // A line nudged away from its box lets go of it (attach.ts); only the first nudge finds one.
    const loose = detach(view, ids);
    const key = [...ids].sort().join("\n");
    if (!this.run || this.run.key !== key || this.stack.top !== this.run) {
      this.run = new NudgeRun(key, [...ids]);
      this.stack.push(this.run);
    }
    this.run.add(dx, dy, loose);
    return [...loose.ops, { k: "mov", ids: [...ids], dx, dy }];
  }
}
