import { describe, expect, it } from "vitest";
import { snapDegrees, snapEdges, snapMove, snapVector } from "./snap";

const box = (minX: number, minY: number, maxX: number, maxY: number) => ({ minX, minY, maxX, maxY });

describe("angle snapping", () => {
  it("rounds degrees to 15° steps within one turn", () => {
    expect(snapDegrees(7.4)).toBe(0);
    expect(snapDegrees(7.6)).toBe(15);
    expect(snapDegrees(-10)).toBe(345);
    expect(snapDegrees(359)).toBe(0);
    expect(snapDegrees(100, 45)).toBe(90);
  });

  it("turns a vector onto the nearest 15° direction, keeping its projected length", () => {
    expect(snapVector(100, 3)).toEqual([100, 0]);
    expect(snapVector(0, -50)).toEqual([0, -50]);
    const [dx, dy] = snapVector(100, 30); // 16.7° -> 15°
    expect((Math.atan2(dy, dx) * 180) / Math.PI).toBeCloseTo(15, 0);
    expect(Math.hypot(dx, dy)).toBeCloseTo(Math.hypot(100, 30) * Math.cos((1.7 * Math.PI) / 180), 0);
    expect(snapVector(0, 0)).toEqual([0, 0]);
  });
});

describe("snapMove", () => {
  const others = [box(100, 0, 200, 50)];

  it("aligns the nearest edge or centre within the threshold and draws a guide", () => {
    // Left edge 103 is 3 from the other's left edge 100.
    const s = snapMove(box(103, 300, 153, 340), others, 6);
    expect(s.dx).toBe(-3);
    expect(s.dy).toBe(0);
    expect(s.guides).toEqual([{ x1: 100, y1: 0, x2: 100, y2: 340 }]);
  });

  it("aligns centres and prefers the closest line", () => {
    // Centre 152 vs the other's centre 150 (2 away); right edge 177 is 23 from 200.
    const s = snapMove(box(127, 60, 177, 100), others, 6);
    expect(s.dx).toBe(-2);
    // Top 60 is 10 from the other's bottom 50: out of reach.
    expect(s.dy).toBe(0);
  });

  it("leaves a box out of reach alone", () => {
    expect(snapMove(box(300, 300, 350, 350), others, 6)).toEqual({ dx: 0, dy: 0, guides: [] });
  });
});

describe("snapEdges", () => {
  it("moves only the dragged edges onto a line", () => {
    const s = snapEdges(box(0, 0, 97, 40), { maxX: true }, [box(100, 200, 150, 260)], 6);
    expect(s.box).toEqual(box(0, 0, 100, 40));
    expect(s.guides).toEqual([{ x1: 100, y1: 0, x2: 100, y2: 260 }]);
  });

  it("snaps the y edge of a corner drag independently of x", () => {
    const s = snapEdges(box(0, 0, 120, 257), { maxX: true, maxY: true }, [box(300, 200, 350, 260)], 6);
    expect(s.box).toEqual(box(0, 0, 120, 260));
  });
});
