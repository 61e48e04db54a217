import { describe, expect, it } from "vitest";
import { CELL, GridIndex } from "./grid-index";

const box = (minX: number, minY: number, maxX: number, maxY: number) => ({ minX, minY, maxX, maxY });

describe("GridIndex", () => {
  it("finds ids whose box touches the region, once each, and forgets deleted ones", () => {
    const g = new GridIndex();
    g.set("a", box(0, 0, 10, 10));
    g.set("b", box(CELL - 5, 0, CELL + 5, 10)); // spans two cells
    g.set("c", box(5000, 5000, 5010, 5010));
    expect(g.search(box(0, 0, CELL * 2, 20)).sort()).toEqual(["a", "b"]);
    expect(g.search(box(10, 10, 10, 10))).toEqual(["a"]); // touching edges count
    expect(g.search(box(11, 11, 100, 100))).toEqual([]);
    g.delete("b");
    g.delete("missing");
    expect(g.search(box(0, 0, CELL * 2, 20))).toEqual(["a"]);
    expect(g.size).toBe(2);
  });

  it("moves an id when it is set again", () => {
    const g = new GridIndex();
    g.set("a", box(0, 0, 10, 10));
    g.set("a", box(-3000, -3000, -2990, -2990));
    expect(g.search(box(0, 0, 20, 20))).toEqual([]);
    expect(g.search(box(-3005, -3005, -2995, -2995))).toEqual(["a"]);
  });

  it("keeps huge boxes out of the cells but still finds them", () => {
    const g = new GridIndex();
    g.set("huge", box(-1e6, -1e6, 1e6, 1e6));
    g.set("small", box(0, 0, 1, 1));
    expect(g.search(box(500_000, 500_000, 500_001, 500_001))).toEqual(["huge"]);
    expect(g.search(box(-1e7, -1e7, 1e7, 1e7)).sort()).toEqual(["huge", "small"]);
    g.delete("huge");
    expect(g.search(box(-1e7, -1e7, 1e7, 1e7))).toEqual(["small"]);
  });
});
