import { beforeEach, describe, expect, it, vi } from "vitest";
import type { LogEntry } from "../protocol";
import { UndoStack } from "../undo";

const answers: { seq: number; undo_snapshot: number }[] = [];
const calls: (number | string)[] = [];
let beforeAnswer: (() => void) | null = null;

vi.mock("../api", () => ({
  api: {
    restoreSnapshot: async (_board: string, sid: number | string) => {
      calls.push(sid);
      beforeAnswer?.();
      const a = answers.shift()!;
      return { seq: a.seq, restored_from: 1, undo_snapshot: a.undo_snapshot };
    },
  },
}));

const { RestoreUndo } = await import("./restore-undo");

function fakeEditor() {
  const listeners = new Set<(e: LogEntry) => void>();
  const undoStack = new UndoStack();
  const ed = { undoStack, sync: { entryListeners: listeners } };
  const rst = (s: number) => listeners.forEach((l) => l({ s, c: "server", u: 1, i: s, k: "rst", from: 1, els: [] } as never));
  return { ed, rst, undoStack };
}

const step = { undo: () => [], redo: () => [] };

describe("RestoreUndo", () => {
  beforeEach(() => {
    answers.length = 0;
    calls.length = 0;
    beforeAnswer = null;
  });

  it("undoes a restore by restoring the snapshot taken before it, and redoes it", async () => {
    const { ed, undoStack } = fakeEditor();
    const r = new RestoreUndo(ed as never, "b");
    answers.push({ seq: 10, undo_snapshot: 7 }, { seq: 11, undo_snapshot: 8 }, { seq: 12, undo_snapshot: 9 }, { seq: 13, undo_snapshot: 10 });
    await r.restore(3);
    undoStack.undo(null as never);
    await Promise.resolve();
    undoStack.redo(null as never);
    await new Promise((ok) => setTimeout(ok, 0));
    undoStack.undo(null as never);
    await Promise.resolve();
    // restore 3, undo = restore 7 (before), redo = restore 3, undo = restore 9 (the newest before).
    expect(calls).toEqual([3, 7, 3, 9]);
  });

  it("our own rst keeps the stack, even when it arrives before the answer; anyone else's empties it", async () => {
    const { ed, rst, undoStack } = fakeEditor();
    const r = new RestoreUndo(ed as never, "b");
    undoStack.push(step);
    answers.push({ seq: 20, undo_snapshot: 5 });
    beforeAnswer = () => rst(20);
    await r.restore(3);
    expect(undoStack.canUndo).toBe(true);
    rst(20); // the socket's copy after the answer
    expect(undoStack.canUndo).toBe(true);
    rst(21); // someone else's restore
    expect(undoStack.canUndo).toBe(false);
  });

  it("a foreign rst held during our request drops the older steps but keeps ours when it came first", async () => {
    const { ed, rst, undoStack } = fakeEditor();
    const r = new RestoreUndo(ed as never, "b");
    undoStack.push(step);
    answers.push({ seq: 31, undo_snapshot: 5 }, { seq: 32, undo_snapshot: 6 });
    beforeAnswer = () => rst(30);
    await r.restore(3);
    undoStack.undo(null as never);
    expect(undoStack.canUndo).toBe(false); // only our restore step was left
    expect(calls).toEqual([3, 5]);
  });
});
