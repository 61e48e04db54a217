import { describe, expect, it } from "vitest";
import type { Element } from "../protocol";
import { rect, stroke } from "../testing";
import { CoarseRaster } from "./coarse";

/** The pixel (x, y) as [r, g, b, a]. */
function at(r: CoarseRaster, x: number, y: number): number[] {
  const k = 4 * (y * r.width + x);
  return [...r.data.slice(k, k + 4)];
}

const WHITE = [255, 255, 255, 255];
const RED = [224, 49, 49, 255];

describe("CoarseRaster", () => {
  it("starts opaque white and draws a stroke through its points in its colour, and nothing elsewhere", () => {
    const r = new CoarseRaster(40, 20, 0.5, 0, 0);
    expect(at(r, 5, 5)).toEqual(WHITE);
    const el = stroke("s", 10, 10, [0, 0, 40, 0, 0, 10]);
    el.style = { ...el.style, color: "#e03131", width: 2 };
    r.element(el);
    // World (10, 10) -> (50, 10) -> (50, 20) at half scale: pixels (5, 5) to (25, 5) to (25, 10).
    for (const x of [5, 12, 20, 25]) expect(at(r, x, 5)).toEqual(RED);
    expect(at(r, 25, 9)).toEqual(RED);
    expect(at(r, 12, 8)).toEqual(WHITE);
    expect(at(r, 30, 5)).toEqual(WHITE);
  });

  it("blends a translucent stroke once per pixel, however often its own stamps cover it", () => {
    const r = new CoarseRaster(40, 20, 1, 0, 0);
    const el = stroke("h", 5, 10, [0, 0, 10, 0, -10, 0, 10, 0]);
    el.style = { ...el.style, color: "#000000", width: 6, opacity: 0.25 };
    r.element(el);
    // 0.25 of black over white: 191, wherever the back-and-forth stroke passed.
    for (const x of [5, 10, 15]) expect(at(r, x, 10)).toEqual([191, 191, 191, 255]);
    // A second element over it blends again.
    r.element({ ...el, id: "h2" });
    expect(at(r, 10, 10)).toEqual([143, 143, 143, 255]);
  });

  it("fills a shape's inside with its fill and draws its outline in its colour", () => {
    const r = new CoarseRaster(60, 60, 1, 0, 0);
    const box: Element = { ...rect("r", 10, 10, 40, 30), style: { color: "#e03131", width: 1, opacity: 1, fill: "#1971c2" } };
    r.element(box);
    expect(at(r, 30, 25)).toEqual([25, 113, 194, 255]);
    expect(at(r, 10, 25)).toEqual(RED);
    expect(at(r, 30, 10)).toEqual(RED);
    expect(at(r, 55, 25)).toEqual(WHITE);
  });

  it("turns a shape by its rotation, as the canvas does", () => {
    const r = new CoarseRaster(100, 100, 1, 0, 0);
    // A long thin bar along x, turned 90 degrees about its centre (50, 50): now along y.
    r.element({ ...rect("r", 10, 48, 80, 4), rot: 90, style: { color: "#000000", width: 1, opacity: 1, fill: "#000000" } });
    expect(at(r, 50, 15)).toEqual([0, 0, 0, 255]);
    expect(at(r, 15, 50)).toEqual(WHITE);
  });

  it("shows text as a bar over its box, not glyphs", () => {
    const r = new CoarseRaster(200, 60, 1, 0, 0);
    r.element({ id: "t", type: "text", x: 10, y: 10, text: "hello world", size: 20, style: { color: "#000000", width: 2, opacity: 1, fill: null } });
    const row = Array.from({ length: 200 }, (_, x) => at(r, x, 20)[0]);
    const inked = row.filter((v) => v < 255);
    expect(inked.length).toBeGreaterThan(60);
    expect(new Set(inked).size).toBe(1);
  });

  it("puts the world where the offset says and cuts what lies outside", () => {
    const r = new CoarseRaster(10, 10, 1, -100, -100);
    const el = stroke("s", 95, 105, [0, 0, 20, 0]);
    el.style = { ...el.style, color: "#e03131", width: 1 };
    r.element(el);
    for (let x = 0; x < 10; x++) expect(at(r, x, 5)).toEqual(RED);
    expect(at(r, 5, 4)).toEqual(WHITE);
  });
});
