import { describe, expect, it } from "vitest";
import { applyOp, stateFromElements, type BoardState } from "../ops";
import type { Element, Op } from "../protocol";
import type { NewOp } from "../sync";
import { STYLE } from "../testing";
import { align, arrangeOrder, distribute, group, orderOp, toggleLock, ungroup } from "./arrange";
import { groupOf, withGroups } from "./groups";
import { bindingAt, detach, followers } from "./attach";

const rect = (id: string, x = 0, w = 10, more: Partial<Element> = {}): Element => ({
  id,
  type: "rect",
  x,
  y: 0,
  w,
  h: 10,
  style: { ...STYLE, width: 2 },
  ...more,
});

const board = (...els: Element[]) => stateFromElements(1, els);
const order = (s: BoardState) => [...s.elements.keys()].join("");
const apply = (s: BoardState, ops: NewOp[]) => {
  for (const op of ops) applyOp(s, { ...op, i: 1 } as Op);
  return s;
};

describe("z-order", () => {
  const cases: [string, string, "forward" | "backward" | "front" | "back", string][] = [
    ["abcde", "b", "forward", "acbde"],
    ["abcde", "b", "backward", "bacde"],
    ["abcde", "bd", "front", "acebd"],
    ["abcde", "bd", "back", "bdace"],
    ["abcde", "d", "backward", "abdce"],
  ];
  it.each(cases)("%s with %s %s gives %s, and undo restores", (start, sel, move, expected) => {
    const s = board(...[...start].map((id) => rect(id)));
    const done = arrangeOrder(s, new Set(sel), move)!;
    const after = apply(board(...s.elements.values()), done.ops);
    expect(order(after)).toBe(expected);
    expect(order(apply(after, done.entry.undo(after)))).toBe(start);
  });

  it("does nothing where there is nowhere to go", () => {
    const s = board(rect("a"), rect("b"), rect("c"));
    expect(orderOp(s, new Set("c"), "front")).toBeNull();
    expect(orderOp(s, new Set("c"), "forward")).toBeNull();
    expect(orderOp(s, new Set("ab"), "back")).toBeNull();
    expect(orderOp(s, new Set("a"), "backward")).toBeNull();
  });
});

describe("groups and lock", () => {
  it("groups outermost, selects the group, ungroups, and undoes", () => {
    const s = board(rect("a", 0, 10, { grp: ["inner"] }), rect("b"), rect("c"));
    const g = group(s, new Set(["a", "b"]))!;
    apply(s, g.ops);
    const outer = s.elements.get("b")!.grp![0];
    expect(s.elements.get("a")!.grp).toEqual(["inner", outer]);
    expect(groupOf(s, s.elements.get("a")!).sort()).toEqual(["a", "b"]);
    expect(withGroups(s, [s.elements.get("b")!]).sort()).toEqual(["a", "b"]);
    apply(s, ungroup(s, new Set(["a", "b"]))!.ops);
    expect(s.elements.get("a")!.grp).toEqual(["inner"]);
    expect(s.elements.get("b")!.grp).toBeUndefined();
    expect(group(s, new Set(["a"]))).toBeNull();
    apply(s, g.entry.undo(s));
    expect(s.elements.get("a")!.grp).toEqual(["inner"]);
  });

  it("refuses a ninth nested group", () => {
    const deep = Array.from({ length: 8 }, (_, k) => `g${k}`);
    expect(group(board(rect("a", 0, 10, { grp: deep }), rect("b")), new Set(["a", "b"]))).toBeNull();
  });

  it("locks, then unlocks when everything is locked", () => {
    const s = board(rect("a", 0, 10, { lock: true }), rect("b"));
    apply(s, toggleLock(s, new Set(["a", "b"]))!.ops);
    expect([...s.elements.values()].map((el) => el.lock)).toEqual([true, true]);
    const unlock = toggleLock(s, new Set(["a", "b"]))!;
    apply(s, unlock.ops);
    expect([...s.elements.values()].every((el) => !("lock" in el))).toBe(true);
    apply(s, unlock.entry.undo(s));
    expect(s.elements.get("b")!.lock).toBe(true);
  });
});

describe("align and distribute", () => {
  it("aligns left and right on bounds, one mov per offset, undo moves back", () => {
    const s = board(rect("a", 0), rect("b", 30, 20), rect("c", 30, 20));
    const left = align(s, new Set("abc"), "left")!;
    expect(left.ops).toEqual([{ k: "mov", ids: ["b", "c"], dx: -30, dy: 0 }]);
    apply(s, left.ops);
    expect([...s.elements.values()].map((el) => el.x)).toEqual([0, 0, 0]);
    const right = align(s, new Set("abc"), "right")!;
    expect(right.ops).toEqual([{ k: "mov", ids: ["a"], dx: 10, dy: 0 }]);
    apply(s, left.entry.undo(s));
    expect(s.elements.get("b")!.x).toBe(30);
  });

  it("skips locked elements and moves a group as one", () => {
    const s = board(rect("a", 0, 10, { lock: true }), rect("b", 50, 10, { grp: ["g"] }), rect("c", 70, 10, { grp: ["g"] }), rect("d", 20));
    const done = align(s, new Set("abcd"), "left")!;
    expect(done.ops).toEqual([{ k: "mov", ids: ["b", "c"], dx: -30, dy: 0 }]);
  });

  it("distributes with equal gaps, the outer ones staying", () => {
    const s = board(rect("a", 0), rect("b", 15), rect("c", 100));
    apply(s, distribute(s, new Set("abc"), "horizontal")!.ops);
    expect([...s.elements.values()].map((el) => el.x)).toEqual([0, 50, 100]);
  });
});

describe("binding from the editor", () => {
  it("anchors in per mille of the box, clamped", () => {
    expect(bindingAt(rect("r", 100, -50), 75, 5)).toEqual({ id: "r", fx: 500, fy: 500 });
    expect(bindingAt(rect("r", 0, 10), 20, -3)).toEqual({ id: "r", fx: 1000, fy: 0 });
  });

  it("lets go of boxes that stay when a line moves, and drafts followers", () => {
    const arrow: Element = {
      id: "l",
      type: "arrow",
      x: 0,
      y: 0,
      w: 0,
      h: 0,
      style: STYLE,
      sb: { id: "a", fx: 0, fy: 0 },
      eb: { id: "b", fx: 1000, fy: 1000 },
    };
    const s = board(rect("a"), rect("b", 100));
    applyOp(s, { i: 1, k: "add", el: arrow });
    expect(detach(s, ["l", "b"])).toEqual({
      ops: [{ k: "upd", id: "l", set: { sb: null } }],
      undo: [{ k: "upd", id: "l", set: { sb: { id: "a", fx: 0, fy: 0 } } }],
    });
    const moved = new Map([["b", { ...s.elements.get("b")!, x: 200 }]]);
    const [draft] = followers(s, moved);
    expect([draft.x, draft.y, draft.x + draft.w!, draft.y + draft.h!]).toEqual([0, 0, 210, 10]);
  });
});

describe("undoing a delete puts elements back in z-order", () => {
  it("erased in two strokes, either order", async () => {
    const { restoreZ } = await import("../bindings");
    const { deletedEntry } = await import("../undo");
    for (const first of ["x", "a"]) {
      const s = board(rect("w"), rect("x"), rect("a"), rect("z"));
      const els = [...s.elements.values()];
      const restore: NewOp[] = [];
      const erased: Element[] = [];
      for (const id of first === "x" ? ["x", "a"] : ["a", "x"]) {
        restore.unshift(...restoreZ(s.elements, new Set([id]), 10));
        erased.push(s.elements.get(id)!);
        apply(s, [{ k: "del", ids: [id] }]);
      }
      apply(s, deletedEntry(erased, restore).undo(s));
      expect([...s.elements.values()]).toEqual(els);
    }
  });
});
