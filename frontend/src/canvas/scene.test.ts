import { describe, expect, it } from "vitest";
import { applyOp, boundsOf, cloneState, stateFromElements, type BoardState } from "../ops";
import type { Element, Op } from "../protocol";
import type { NewOp } from "../sync";
import { rect, stroke } from "../testing";
import { sameLook, SceneIndex } from "./scene";

const everything = { minX: -1e6, minY: -1e6, maxX: 1e6, maxY: 1e6 };
const ids = (els: Element[]) => els.map((el) => el.id);

function synced(state: BoardState): [SceneIndex, () => number] {
  const scene = new SceneIndex();
  let version = 0;
  scene.sync(state, version);
  scene.takeChanges();
  return [scene, () => ++version];
}

function apply(state: BoardState, ...ops: NewOp[]): BoardState {
  const next = cloneState(state);
  for (const op of ops) applyOp(next, { ...op, i: 1 } as Op);
  return next;
}

describe("SceneIndex", () => {
  it("answers region queries in z-order", () => {
    const [scene] = synced(stateFromElements(1, [rect("low", 0, 0, 50, 50), rect("far", 900, 900), rect("high", 20, 20)]));
    expect(ids(scene.query({ minX: 25, minY: 25, maxX: 26, maxY: 26 }))).toEqual(["low", "high"]);
    expect(ids(scene.query(everything))).toEqual(["low", "far", "high"]);
  });

  it("reports added, changed and removed elements once, and nothing for an unchanged version", () => {
    let state = stateFromElements(1, [rect("a"), stroke("s"), rect("b", 40, 40)]);
    const [scene, next] = synced(state);
    state = apply(state, { k: "add", el: rect("c", 80, 80) }, { k: "app", id: "s", p: [3, 4] }, { k: "del", ids: ["b"] });
    const v = next();
    scene.sync(state, v);
    scene.sync(state, v);
    const changes = scene.takeChanges();
    expect(ids(changes.added)).toEqual(["c"]);
    expect(changes.changed.map((c) => [c.old.p, c.el.p])).toEqual([[[0, 0], [0, 0, 3, 4]]]);
    expect(ids(changes.removed)).toEqual(["b"]);
    expect(scene.takeChanges()).toEqual({ removed: [], changed: [], added: [] });
    expect(ids(scene.query(everything))).toEqual(["a", "s", "c"]);
  });

  it("ignores a replaced element that draws the same (an acked copy)", () => {
    const state = stateFromElements(1, [stroke("s", 0, 0, [0, 0, 1, 1])]);
    const [scene, next] = synced(state);
    const copy = stateFromElements(2, [{ ...stroke("s", 0, 0, [0, 0, 1, 1]) }]);
    scene.sync(copy, next());
    expect(scene.takeChanges().changed).toEqual([]);
    expect(scene.get("s")).toBe(copy.elements.get("s"));
  });

  it("puts an element re-added after a delete on top and reports it changed", () => {
    const a = rect("a");
    let state = stateFromElements(1, [a, rect("b")]);
    const [scene, next] = synced(state);
    // An undone delete re-adds the very same element object, now last in z-order.
    state = apply(state, { k: "del", ids: ["a"] }, { k: "add", el: a });
    scene.sync(state, next());
    expect(scene.takeChanges().changed.map((c) => c.el.id)).toEqual(["a"]);
    expect(ids(scene.query(everything))).toEqual(["b", "a"]);
    expect(scene.zOf("a")).toBeGreaterThan(scene.zOf("b"));
  });

  it("follows a restore that reorders everything", () => {
    let state = stateFromElements(1, [rect("a"), rect("b"), rect("c")]);
    const [scene, next] = synced(state);
    state = apply(state, { k: "rst", from: 1, els: [rect("c"), rect("a"), rect("d")] });
    scene.sync(state, next());
    const changes = scene.takeChanges();
    expect(ids(changes.removed)).toEqual(["b"]);
    expect(ids(changes.added)).toEqual(["d"]);
    expect(ids(scene.query(everything))).toEqual(["c", "a", "d"]);
  });
});

describe("SceneIndex.sync told what changed in place", () => {
  /** A state whose element map may not be walked: only looked up by id. */
  const unwalkable = (state: BoardState) => {
    const els = state.elements;
    const walk = () => {
      throw new Error("walked the whole state");
    };
    Object.assign(els, { [Symbol.iterator]: walk, entries: walk, keys: walk, values: walk, forEach: walk });
    return state;
  };

  it("looks at the touched elements only, and reports and indexes their change", () => {
    const state = stateFromElements(1, [rect("a"), stroke("s", 0, 0, [0, 0]), rect("b", 400, 400)]);
    const [scene, next] = synced(state);
    let since = 0;
    const touched = (v: number) => (v === since ? ["s"] : null);
    applyOp(state, { i: 1, k: "app", id: "s", p: [500, 500] });
    since = 0;
    scene.sync(unwalkable(state), next(), touched);
    const changes = scene.takeChanges();
    expect(changes.changed.map((c) => [c.old.p, c.el.p])).toEqual([[[0, 0], [0, 0, 500, 500]]]);
    expect(changes.added).toEqual([]);
    expect(ids(scene.query({ minX: 450, minY: 450, maxX: 460, maxY: 460 }))).toEqual(["s"]);
  });

  it("walks the whole state when it is another object, or the account is missing or names an unknown id", () => {
    const state = stateFromElements(1, [rect("a"), stroke("s")]);
    const [scene, next] = synced(state);
    const copy = cloneState(state);
    copy.elements.set("c", rect("c"));
    scene.sync(copy, next(), () => ["s"]);
    expect(ids(scene.takeChanges().added)).toEqual(["c"]);
    copy.elements.delete("a");
    scene.sync(copy, next(), () => null);
    expect(ids(scene.takeChanges().removed)).toEqual(["a"]);
    copy.elements.set("d", rect("d"));
    scene.sync(copy, next(), () => ["d"]);
    expect(ids(scene.takeChanges().added)).toEqual(["d"]);
  });
});

describe("SceneIndex bounds", () => {
  it("finds no bounds until a query needs them, and lists everything bottom first without them", () => {
    let calls = 0;
    const scene = new SceneIndex((el) => {
      calls++;
      return boundsOf(el);
    });
    let state = stateFromElements(1, [rect("a", 0, 0), rect("b", 500, 500), stroke("s", 0, 0, [0, 0, 9, 9])]);
    scene.sync(state, 1);
    expect(ids(scene.all())).toEqual(["a", "b", "s"]);
    expect(calls).toBe(0);
    // Changed, then gone, before any query: nothing of it is left to find.
    state = apply(state, { k: "upd", id: "b", set: { x: 900 } });
    scene.sync(state, 2);
    state = apply(state, { k: "del", ids: ["b"] });
    scene.sync(state, 3);
    expect(ids(scene.query(everything))).toEqual(["a", "s"]);
    expect(calls).toBe(2);
    expect(ids(scene.query({ minX: 4, minY: 4, maxX: 5, maxY: 5 }))).toEqual(["a", "s"]);
    expect(calls).toBe(2);
  });
});

describe("sameLook", () => {
  it("compares points, style and fields by value", () => {
    expect(sameLook(rect("r"), rect("r"))).toBe(true);
    expect(sameLook(rect("r"), { ...rect("r"), style: { ...rect("r").style, color: "#ff0000" } })).toBe(false);
    expect(sameLook(stroke("s", 0, 0, [0, 0, 1, 1]), stroke("s", 0, 0, [0, 0, 1, 2]))).toBe(false);
    expect(sameLook(rect("r"), { ...rect("r"), w: 11 })).toBe(false);
  });
});

describe("SceneIndex.sync between takes", () => {
  it("finds removals when earlier additions were not taken yet", () => {
    let state = stateFromElements(1, [rect("a"), rect("b")]);
    const [scene, next] = synced(state);
    state = apply(state, { k: "add", el: rect("c") });
    scene.sync(state, next());
    state = apply(state, { k: "del", ids: ["a"] });
    scene.sync(state, next());
    const changes = scene.takeChanges();
    expect(ids(changes.added)).toEqual(["c"]);
    expect(ids(changes.removed)).toEqual(["a"]);
    expect(ids(scene.query(everything))).toEqual(["b", "c"]);
  });
});
