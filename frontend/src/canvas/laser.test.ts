import { describe, expect, it } from "vitest";
import { LASER_FADE_MS, LaserTrails } from "./laser";

describe("laser trails", () => {
  it("fade linearly and are gone after LASER_FADE_MS", () => {
    const trails = new LaserTrails();
    trails.add("a", 0, 0, 1000);
    trails.add("a", 10, 0, 1100);
    expect(trails.visible(1100)).toEqual([{ x0: 0, y0: 0, x1: 10, y1: 0, alpha: 1 }]);
    const [half] = trails.visible(1100 + LASER_FADE_MS / 2);
    expect(half.alpha).toBeCloseTo(0.5);
    expect(trails.active(1100 + LASER_FADE_MS - 1)).toBe(true);
    expect(trails.active(1100 + LASER_FADE_MS)).toBe(false);
    expect(trails.visible(1100 + LASER_FADE_MS)).toEqual([]);
  });

  it("older points fade first, so the tail of a trail disappears before its head", () => {
    const trails = new LaserTrails();
    for (let k = 0; k < 5; k++) trails.add("a", k * 10, 0, k * 200);
    const alphas = trails.visible(900).map((s) => s.alpha);
    expect(alphas).toEqual([...alphas].sort((p, q) => p - q));
    expect(alphas.length).toBe(4);
    // At 1100 the first point (t = 0) has faded: the trail starts at the second.
    expect(trails.visible(1100).map((s) => s.x0)).toEqual([10, 20, 30]);
  });

  it("a lift starts a new trail: no line joins the two strokes", () => {
    const trails = new LaserTrails();
    trails.add("a", 0, 0, 0);
    trails.add("a", 10, 0, 10);
    trails.lift("a");
    trails.add("a", 100, 100, 20);
    trails.add("a", 110, 100, 30);
    const segs = trails.visible(40).map((s) => [s.x0, s.x1]);
    expect(segs).toEqual([
      [0, 10],
      [100, 110],
    ]);
  });

  it("a press without a move is a dot, and users' trails are kept apart", () => {
    const trails = new LaserTrails();
    trails.add("a", 5, 5, 0);
    trails.add("b", 50, 50, 0);
    trails.add("b", 60, 50, 0);
    expect(trails.visible(1)).toHaveLength(2);
    expect(trails.visible(1)[0]).toMatchObject({ x0: 5, x1: 5 });
  });
});
