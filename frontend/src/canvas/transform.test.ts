import { describe, expect, it } from "vitest";
import { applyOp, boundsOf, stateFromElements } from "../ops";
import type { Element } from "../protocol";
import { rect, stroke, STYLE } from "../testing";
import { inversePatch } from "../undo";
import { frameOf, rotationCentre, toLocal } from "./geometry";
import { hits } from "./hit";
import { normRot, patchBetween, rotateAbout, scaleAbout } from "./transform";

describe("scaleAbout", () => {
  it("resizes a box shape by x/y/w/h, normalised to a positive size", () => {
    const r = rect("r", 0, 0, 100, 50);
    expect(scaleAbout(r, 2, 1, [100, 25])).toMatchObject({ x: 0, y: 0, w: 200, h: 50 });
    // Mirrored: still w, h >= 0.
    expect(scaleAbout(r, -1, 1, [50, 25])).toMatchObject({ x: 0, w: 100 });
  });

  it("scales a stroke by sx/sy about its origin and keeps its deltas", () => {
    const s = stroke("s", 10, 10, [0, 0, 10, 20]);
    const big = scaleAbout(s, 2, 3, rotationCentre(s));
    expect(big.p).toEqual([0, 0, 10, 20]);
    expect(big).toMatchObject({ sx: 2, sy: 3 });
    expect(frameOf(big)).toEqual({ minX: 5, minY: -10, maxX: 25, maxY: 50 });
    // Never below the protocol's 1 %.
    expect(scaleAbout(s, 0.0001, 1, [0, 0]).sx).toBe(0.01);
  });

  it("scales a text's size uniformly and a line's endpoints", () => {
    const t: Element = { id: "t", type: "text", x: 0, y: 0, text: "hello", size: 20, style: STYLE };
    expect(scaleAbout(t, 2, 2, rotationCentre(t)).size).toBe(40);
    const line: Element = { id: "l", type: "line", x: 0, y: 0, w: 100, h: -40, style: STYLE };
    expect(scaleAbout(line, -1, 0.5, [50, -20])).toMatchObject({ x: 100, y: -10, w: -100, h: -20 });
  });
});

describe("rotateAbout", () => {
  it("sets rot on a shape turned about its own centre, without moving it", () => {
    const r = rect("r", 0, 0, 100, 50);
    const turned = rotateAbout(r, 30, rotationCentre(r));
    expect(turned).toMatchObject({ x: 0, y: 0, w: 100, h: 50, rot: 30 });
    expect(rotateAbout(turned, -30, rotationCentre(r)).rot).toBeUndefined();
  });

  it("turns a line's endpoints instead", () => {
    const line: Element = { id: "l", type: "line", x: 0, y: 0, w: 100, h: 0, style: STYLE };
    expect(rotateAbout(line, 90, [50, 0])).toMatchObject({ x: 50, y: -50, w: 0, h: 100 });
    expect(rotateAbout(line, 90, [50, 0]).rot).toBeUndefined();
  });

  it("normalises rotations to 0 <= rot < 360 at 0.01°", () => {
    expect(normRot(-15)).toBe(345);
    expect(normRot(359.999)).toBe(0);
    expect(normRot(720.123)).toBe(0.12);
  });
});

describe("patches and undo", () => {
  it("patchBetween sends only what changed, null for a removed key", () => {
    const a = { ...rect("r", 0, 0, 10, 10), rot: 20 };
    const b = { ...a, x: 5, w: 20 } as Element;
    delete b.rot;
    expect(patchBetween(a, b)).toEqual({ x: 5, w: 20, rot: null });
    expect(patchBetween(a, a)).toBeNull();
  });

  it("inversePatch restores the exact element, removing keys it added", () => {
    const s = stroke("s", 3, 4, [0, 0, 5, 5]);
    const set = { x: 9, sx: 2, sy: -1, rot: 45 };
    expect(inversePatch(s, set)).toEqual({ x: 3, sx: null, sy: null, rot: null });
    const state = stateFromElements(1, [s]);
    applyOp(state, { i: 1, k: "upd", id: "s", set });
    expect(state.elements.get("s")).toMatchObject(set);
    applyOp(state, { i: 2, k: "upd", id: "s", set: inversePatch(s, set) });
    expect(state.elements.get("s")).toEqual(s);
  });
});

describe("rotated geometry", () => {
  const r: Element = { ...rect("r", 0, 0, 100, 20), style: { ...STYLE, width: 2 }, rot: 90 };

  it("bounds enclose the turned box (as geometry.py bbox)", () => {
    const b = boundsOf(r);
    expect([b.minX, b.minY, b.maxX, b.maxY].map((v) => Math.round(v * 1e6) / 1e6)).toEqual([39, -41, 61, 61]);
  });

  it("hit-tests in the element's own frame", () => {
    // Turned upright: (50, -30) is inside, (0, 10) (the unrotated left end) is not.
    expect(hits(r, 50, -30, 0)).toBe(true);
    expect(hits(r, 5, 10, 0)).toBe(false);
    const [lx, ly] = toLocal(r, 50, -30);
    expect(lx).toBeCloseTo(10);
    expect(ly).toBeCloseTo(10);
  });
});
