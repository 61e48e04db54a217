import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { absolutePoints, applyOp, cloneState, elementBounds, emptyState, stateFromElements } from "./ops";
import type { Element, LogEntry } from "./protocol";
import { rect, stroke } from "./testing";

describe("applyOp", () => {
  it("adds on top and refuses an existing id", () => {
    const s = emptyState();
    applyOp(s, { i: 1, k: "add", el: rect("a") });
    applyOp(s, { i: 2, k: "add", el: stroke("b") });
    applyOp(s, { i: 3, k: "add", el: rect("a", 99) });
    expect([...s.elements.keys()]).toEqual(["a", "b"]);
    expect(s.elements.get("a")?.x).toBe(0);
  });

  it("appends delta points and pressure to strokes only, copy-on-write", () => {
    const s = stateFromElements(0, [{ ...stroke("s", 10, 10, [0, 0]), pr: [40] }, rect("r")]);
    const before = s.elements.get("s");
    applyOp(s, { i: 1, k: "app", id: "s", p: [1, 2, 3, 4], pr: [50, 60] });
    applyOp(s, { i: 2, k: "app", id: "r", p: [1, 1] });
    applyOp(s, { i: 3, k: "app", id: "missing", p: [1, 1] });
    const after = s.elements.get("s");
    expect(after?.p).toEqual([0, 0, 1, 2, 3, 4]);
    expect(after?.pr).toEqual([40, 50, 60]);
    expect(before?.p).toEqual([0, 0]);
    expect(after && absolutePoints(after)).toEqual([10, 10, 11, 12, 14, 16]);
    expect(s.elements.get("r")).not.toHaveProperty("p");
  });

  it("merges style key by key on upd and ignores missing ids", () => {
    const s = stateFromElements(0, [rect("r")]);
    applyOp(s, { i: 1, k: "upd", id: "r", set: { style: { color: "#ff0000" }, w: 50 } });
    applyOp(s, { i: 2, k: "upd", id: "nope", set: { x: 5 } });
    expect(s.elements.get("r")?.style).toEqual({ color: "#ff0000", width: 4, opacity: 1, fill: null });
    expect(s.elements.get("r")?.w).toBe(50);
    expect(s.elements.size).toBe(1);
  });

  it("moves, deletes idempotently, clears and restores", () => {
    const s = stateFromElements(0, [rect("a"), rect("b", 5, 5)]);
    applyOp(s, { i: 1, k: "mov", ids: ["a", "gone"], dx: 3, dy: -2 });
    expect(s.elements.get("a")).toMatchObject({ x: 3, y: -2 });
    applyOp(s, { i: 2, k: "del", ids: ["a", "a", "gone"] });
    expect([...s.elements.keys()]).toEqual(["b"]);
    applyOp(s, { i: 3, k: "clr" });
    expect(s.elements.size).toBe(0);
    applyOp(s, { i: 4, k: "rst", from: 7, els: [rect("z"), rect("y")] });
    expect([...s.elements.keys()]).toEqual(["z", "y"]);
  });

  it("cloneState isolates the optimistic layer from confirmed state", () => {
    const confirmed = stateFromElements(4, [stroke("s")]);
    const view = cloneState(confirmed);
    applyOp(view, { i: 1, k: "app", id: "s", p: [1, 1] });
    applyOp(view, { i: 2, k: "del", ids: ["s"] });
    expect(confirmed.elements.get("s")?.p).toEqual([0, 0]);
    expect(view.elements.size).toBe(0);
  });

  it("bounds strokes by their points and pad by half the width", () => {
    const b = elementBounds(stroke("s", 0, 0, [0, 0, 10, 0, 0, 20]));
    expect(b).toEqual({ minX: -2, minY: -2, maxX: 12, maxY: 22 });
  });
});

interface GoldenCase {
  name: string;
  before: { seq: number; els: Element[] };
  op: LogEntry;
  after: { seq: number; els: Element[] };
}

// Written by tests/board/test_reducer_golden.py from the server's reducer; read unconditionally,
// so a missing or moved file fails this suite instead of skipping it.
const GOLDEN = join(import.meta.dirname, "..", "..", "tests", "board", "fixtures", "reducer_cases.json");
const golden = JSON.parse(readFileSync(GOLDEN, "utf8")) as GoldenCase[];

describe("golden reducer cases (tests/board/fixtures/reducer_cases.json)", () => {
  it("holds the server's cases, stale ones included", () => {
    expect(golden.length).toBeGreaterThanOrEqual(10);
    expect(golden.some((c) => c.name.includes("no-op"))).toBe(true);
  });

  it.each(golden.map((c) => [c.name, c] as const))("%s: the same board as the server's reducer", (_name, c) => {
    const state = stateFromElements(c.before.seq, structuredClone(c.before.els));
    applyOp(state, structuredClone(c.op));
    expect([...state.elements.values()]).toEqual(c.after.els);
  });
});
