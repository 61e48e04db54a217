import { describe, expect, it } from "vitest";
import { applyOp, stateFromElements, type BoardState } from "./ops";
import type { Element, Op } from "./protocol";
import type { NewOp } from "./sync";
import { addedEntry, addOps, clearedEntry, deletedEntry, movedEntry, UndoStack } from "./undo";
import { rect, stroke, STYLE } from "./testing";

function run(state: BoardState, ops: NewOp[] | null): void {
  for (const op of ops ?? []) applyOp(state, { ...op, i: 0 } as Op);
}

describe("UndoStack", () => {
  it("undoes a stroke by deleting its final form and redoes by re-adding it", () => {
    const state = stateFromElements(0, [stroke("s", 0, 0, [0, 0])]);
    const stack = new UndoStack();
    stack.push(addedEntry(["s"]));
    applyOp(state, { i: 1, k: "app", id: "s", p: [5, 5] });
    run(state, stack.undo(state));
    expect(state.elements.has("s")).toBe(false);
    run(state, stack.redo(state));
    expect(state.elements.get("s")?.p).toEqual([0, 0, 5, 5]);
  });

  it("inverts deletes (clear included) and moves", () => {
    const a = rect("a");
    const b = rect("b", 20, 20);
    const state = stateFromElements(0, [a, b]);
    const stack = new UndoStack();
    applyOp(state, { i: 1, k: "clr" });
    stack.push(deletedEntry([a, b]));
    run(state, stack.undo(state));
    expect([...state.elements.keys()]).toEqual(["a", "b"]);
    applyOp(state, { i: 2, k: "mov", ids: ["a"], dx: 7, dy: 3 });
    stack.push(movedEntry(["a"], 7, 3));
    run(state, stack.undo(state));
    expect(state.elements.get("a")).toMatchObject({ x: 0, y: 0 });
    run(state, stack.redo(state));
    expect(state.elements.get("a")).toMatchObject({ x: 7, y: 3 });
  });

  it("a new action clears the redo stack; empty stacks return null", () => {
    const stack = new UndoStack();
    const state = stateFromElements(0, [rect("a")]);
    expect(stack.undo(state)).toBeNull();
    stack.push(addedEntry(["a"]));
    stack.undo(state);
    expect(stack.canRedo).toBe(true);
    stack.push(addedEntry(["b"]));
    expect(stack.canRedo).toBe(false);
    expect(stack.redo(state)).toBeNull();
  });

  it("undoes a clear in the old z-order, beneath what others added since", () => {
    const state = stateFromElements(0, [rect("a"), rect("b", 20, 20), rect("c", 40, 40)]);
    const stack = new UndoStack();
    stack.push(clearedEntry(state.elements));
    applyOp(state, { i: 1, k: "clr" });
    applyOp(state, { i: 2, k: "add", el: rect("x", 5, 5) }); // someone else draws meanwhile
    run(state, stack.undo(state));
    expect([...state.elements.keys()]).toEqual(["a", "b", "c", "x"]);
    run(state, stack.redo(state));
    expect([...state.elements.keys()]).toEqual(["x"]);
  });

  it("re-adds an arrow beneath its box unbound, then binds it once the box is back", () => {
    const box = rect("box", 100, 0, 50, 50);
    const arrow: Element = { id: "ar", type: "arrow", x: 0, y: 25, w: 100, h: 0, style: STYLE, eb: { id: "box", fx: 0, fy: 500 } };
    const state = stateFromElements(0, [arrow, box]);
    const stack = new UndoStack();
    stack.push(clearedEntry(state.elements));
    applyOp(state, { i: 1, k: "clr" });
    const ops = stack.undo(state)!;
    // The server refuses an add bound to an element not on the board (protocol.md §3.2).
    const present = new Set<string>();
    for (const op of ops) {
      if (op.k !== "add") continue;
      for (const b of [op.el.sb, op.el.eb]) if (b) expect(present).toContain(b.id);
      present.add(op.el.id);
    }
    run(state, ops);
    expect([...state.elements.values()]).toEqual([arrow, box]);
  });

  it("adds in order, binding to an element added later by an upd after all adds", () => {
    const box = rect("box");
    const arrow: Element = { id: "ar", type: "arrow", x: 0, y: 0, w: 50, h: 0, style: STYLE, sb: { id: "box", fx: 500, fy: 500 } };
    const ops = addOps([arrow, box]);
    expect(ops.map((op) => op.k)).toEqual(["add", "add", "upd"]);
    expect(ops[0]).toEqual({ k: "add", el: { ...arrow, sb: undefined } });
    expect(ops[2]).toEqual({ k: "upd", id: "ar", set: { sb: { id: "box", fx: 500, fy: 500 } } });
    expect(arrow.sb).toBeDefined(); // the element itself is untouched
    // Bound to an element added before it: in the add itself.
    expect(addOps([box, arrow]).map((op) => op.k)).toEqual(["add", "add"]);
  });
});
