import { describe, expect, it } from "vitest";
import { stroke } from "../testing";
import { drawCoarse, ribbonPoints } from "./coarse";
import type { Context2D } from "./draw";

/** A 2D context that records paths and paints (the unit tests run in node, without a canvas). */
function recorder() {
  const calls: unknown[][] = [];
  const ctx = {
    globalAlpha: 1,
    fillStyle: "",
    strokeStyle: "",
    lineWidth: 1,
    lineCap: "",
    lineJoin: "",
    beginPath: () => calls.push(["beginPath"]),
    moveTo: (x: number, y: number) => calls.push(["moveTo", x, y]),
    lineTo: (x: number, y: number) => calls.push(["lineTo", x, y]),
    closePath: () => calls.push(["closePath"]),
    fill: () => calls.push(["fill", ctx.fillStyle, ctx.globalAlpha]),
    stroke: () => calls.push(["stroke", ctx.strokeStyle, ctx.lineWidth, ctx.globalAlpha]),
    fillRect: (...args: number[]) => calls.push(["fillRect", ...args]),
  };
  return { ctx: ctx as unknown as Context2D, calls };
}

describe("ribbonPoints", () => {
  it("keeps points at least a step apart, always the last, with the pressure's radius", () => {
    const el = { ...stroke("s", 10, 20, [0, 0, 1, 0, 1, 0, 3, 0, 1, 0]), pr: [50, 50, 90, 20, 50] };
    el.style = { ...el.style, width: 10, opacity: 1 };
    // Absolute x: 10, 11, 12, 15, 16. A step of 2 drops 11 and keeps 16 (the last).
    const r = ribbonPoints(el, 2);
    expect(r.filter((_, k) => k % 3 === 0)).toEqual([10, 12, 15, 16]);
    // perfect-freehand's radius: size * (0.5 - thinning * (0.5 - pressure)), thinning 0.6.
    expect(r[2]).toBeCloseTo(5);
    expect(r[5]).toBeCloseTo(10 * (0.5 - 0.6 * (0.5 - 0.9)));
    expect(r[8]).toBeCloseTo(10 * (0.5 - 0.6 * (0.5 - 0.2)));
  });

  it("gives a highlighter and a stroke without pressure half its width everywhere", () => {
    const pen = { ...stroke("p", 0, 0, [0, 0, 5, 0, 5, 0]) };
    pen.style = { ...pen.style, width: 6, opacity: 1 };
    const marker = { ...pen, pr: [10, 90, 50], style: { ...pen.style, opacity: 0.35 } };
    for (const el of [pen, marker]) expect(ribbonPoints(el, 1).filter((_, k) => k % 3 === 2)).toEqual([3, 3, 3]);
  });
});

describe("drawCoarse", () => {
  it("fills a wide stroke as one closed ribbon of straight edges, in its colour and opacity", () => {
    const { ctx, calls } = recorder();
    const el = stroke("s", 0, 0, [0, 0, 10, 0, 10, 0, 10, 0]);
    el.style = { color: "#e03131", width: 4, opacity: 0.35, fill: null };
    drawCoarse(ctx, el, 1);
    const kinds = calls.map((c) => c[0]);
    expect(kinds.filter((k) => k === "moveTo")).toHaveLength(1);
    expect(kinds.filter((k) => k === "lineTo")).toHaveLength(2 * 4 - 1);
    expect(kinds.slice(-2)).toEqual(["closePath", "fill"]);
    expect(calls.at(-1)).toEqual(["fill", "#e03131", 0.35]);
    // Straight along x: the sides are 2 (the radius) above and below, the ends reach out by 2.
    expect(calls[1]).toEqual(["moveTo", -2, 2]);
    expect((ctx as unknown as { globalAlpha: number }).globalAlpha).toBe(1);
  });

  it("draws a stroke a device pixel wide or less as a hairline through its points", () => {
    const { ctx, calls } = recorder();
    const el = stroke("s", 0, 0, [0, 0, 10, 0, 10, 5]);
    el.style = { color: "#1e1e1e", width: 2, opacity: 1, fill: null };
    drawCoarse(ctx, el, 0.5);
    expect(calls).toEqual([
      ["beginPath"],
      ["moveTo", 0, 0],
      ["lineTo", 10, 0],
      ["lineTo", 20, 5],
      ["stroke", "#1e1e1e", 2, 1],
    ]);
  });
});
