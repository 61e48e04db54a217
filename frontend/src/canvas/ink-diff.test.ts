import { getStroke } from "perfect-freehand";
import { describe, expect, it } from "vitest";
import { outlineChange } from "./ink-diff";

/** perfect-freehand's outline of the first `n` points of a wavy pen stroke, as draw.ts asks for it. */
function outline(n: number, pressure = false): number[][] {
  const pts = Array.from({ length: n }, (_, k) => [k * 3, 40 * Math.sin(k / 9), pressure ? 0.3 + 0.5 * Math.abs(Math.sin(k / 5)) : 0.5]);
  return getStroke(pts, { size: 4, thinning: pressure ? 0.6 : 0.25, smoothing: 0.5, streamline: 0.4, simulatePressure: !pressure, last: true });
}

/** Whether (x, y) is inside the polygon (even-odd, straight edges: enough to compare fills). */
function inside(poly: number[][], x: number, y: number): boolean {
  let odd = false;
  for (let k = 0, j = poly.length - 1; k < poly.length; j = k++) {
    const [xi, yi] = poly[k];
    const [xj, yj] = poly[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) odd = !odd;
  }
  return odd;
}

describe("outlineChange", () => {
  it("is null for the same outline", () => {
    expect(outlineChange(outline(50), outline(50))).toBeNull();
  });

  it("is a box near the end of a long stroke that grew, and holds every point whose fill changed", () => {
    for (const pressure of [false, true]) {
      const [a, b] = [outline(80, pressure), outline(82, pressure)];
      const box = outlineChange(a, b)!;
      // Near the new end: a stroke 240 units long changes in its last few tens.
      expect(box.minX).toBeGreaterThan(180);
      let [changedOutside, changedInside] = [0, 0];
      for (let x = -10; x < 260; x += 0.6) {
        for (let y = -50; y < 50; y += 0.6) {
          if (inside(a, x, y) === inside(b, x, y)) continue;
          if (x < box.minX || x > box.maxX || y < box.minY || y > box.maxY) changedOutside++;
          else changedInside++;
        }
      }
      expect(changedOutside).toBe(0);
      expect(changedInside).toBeGreaterThan(0);
    }
  });

  it("covers the whole stroke while its first points still settle", () => {
    const [a, b] = [outline(4), outline(6)];
    const box = outlineChange(a, b)!;
    const xs = [...a, ...b].map((p) => p[0]);
    expect(box.minX).toBeLessThanOrEqual(Math.min(...xs) + 1e-9);
    expect(box.maxX).toBeGreaterThanOrEqual(Math.max(...xs) - 1e-9);
  });
});
