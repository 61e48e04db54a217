import { describe, expect, it } from "vitest";
import { stroke } from "../testing";
import { drawElement, type Context2D } from "./draw";

/** A 2D context that records what is drawn (the unit tests run in node, without a canvas). */
function recorder() {
  const calls: [string, number, ...unknown[]][] = [];
  const ctx = {
    globalAlpha: 1,
    fillStyle: "",
    fillRect: (...args: number[]) => calls.push(["fillRect", ctx.globalAlpha, ctx.fillStyle, ...args]),
    fill: () => calls.push(["fill", ctx.globalAlpha]),
  };
  return { ctx: ctx as unknown as Context2D, calls };
}

describe("drawElement", () => {
  it("draws an element smaller than a device pixel as a one-pixel speck of its colour", () => {
    const { ctx, calls } = recorder();
    const dot = { ...stroke("s", 100, 200, [0, 0, 2, 0]), style: { color: "#e03131", width: 2, opacity: 0.5, fill: null } };
    // Bounds 99..103 x 199..201 at 0.1 device pixels a unit: 0.4 x 0.2 pixels.
    drawElement(ctx, dot, 0.1);
    expect(calls).toEqual([["fillRect", 0.5, "#e03131", 101 - 5, 200 - 5, 10, 10]]);
    expect((ctx as unknown as { globalAlpha: number }).globalAlpha).toBe(1);
  });
});
