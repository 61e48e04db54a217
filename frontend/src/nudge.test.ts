import { describe, expect, it } from "vitest";
import { Nudges } from "./nudge";
import { applyOp, stateFromElements, type BoardState } from "./ops";
import type { Element, Op } from "./protocol";
import type { NewOp } from "./sync";
import { rect, STYLE } from "./testing";
import { addedEntry, UndoStack } from "./undo";

function run(state: BoardState, ops: NewOp[] | null): void {
  for (const op of ops ?? []) applyOp(state, { ...op, i: 0 } as Op);
}

describe("Nudges", () => {
  it("makes consecutive nudges of one selection one undo step, and redo replays them", () => {
    const state = stateFromElements(0, [rect("a", 0, 0), rect("b", 50, 50)]);
    const stack = new UndoStack();
    const nudges = new Nudges(stack);
    for (const [dx, dy] of [[10, 0], [10, 0], [0, 50]]) run(state, nudges.nudge(state, ["a", "b"], dx, dy));
    expect(state.elements.get("a")).toMatchObject({ x: 20, y: 50 });

    run(state, stack.undo(state));
    expect(state.elements.get("a")).toMatchObject({ x: 0, y: 0 });
    expect(state.elements.get("b")).toMatchObject({ x: 50, y: 50 });
    expect(stack.canUndo).toBe(false);
    run(state, stack.redo(state));
    expect(state.elements.get("b")).toMatchObject({ x: 70, y: 100 });
  });

  it("starts a new step for another selection or after another undo step", () => {
    const state = stateFromElements(0, [rect("a", 0, 0), rect("b", 50, 50)]);
    const stack = new UndoStack();
    const nudges = new Nudges(stack);
    run(state, nudges.nudge(state, ["a"], 10, 0));
    run(state, nudges.nudge(state, ["b"], 10, 0));
    stack.push(addedEntry(["c"])); // something else done in between
    run(state, nudges.nudge(state, ["b"], 10, 0));

    run(state, stack.undo(state)); // the last nudge of b
    expect(state.elements.get("b")?.x).toBe(60);
    stack.undo(state); // the add
    run(state, stack.undo(state)); // the first nudge of b
    expect(state.elements.get("b")?.x).toBe(50);
    expect(state.elements.get("a")?.x).toBe(10);
    run(state, stack.undo(state));
    expect(state.elements.get("a")?.x).toBe(0);
  });

  it("lets a nudged arrow go of the box it was bound to, and binds it again on undo", () => {
    const arrow: Element = { id: "w", type: "arrow", x: 100, y: 50, w: 100, h: 0, style: STYLE, sb: { id: "a", fx: 1000, fy: 500 } };
    const state = stateFromElements(0, [rect("a", 0, 0, 100, 100), arrow]);
    const stack = new UndoStack();
    const nudges = new Nudges(stack);
    run(state, nudges.nudge(state, ["w"], 0, 10));
    run(state, nudges.nudge(state, ["w"], 0, 10));
    expect(state.elements.get("w")).toMatchObject({ x: 100, y: 70 });
    expect(state.elements.get("w")?.sb).toBeUndefined();
    run(state, stack.undo(state));
    expect(state.elements.get("w")).toEqual(arrow);
  });
});
