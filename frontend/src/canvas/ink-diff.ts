/**
 * Where a stroke's outline changed between two frames, so the live layer repaints only that.
 *
 * A growing stroke's outline (perfect-freehand) is its left side, the end cap, its right side
 * back and the start cap; new points move only the part near the end, so the two polygons share
 * a long head and a long tail. Where closed outlines differ is inside the box of the vertices
 * that differ (for either polygon) and their neighbours: the outline's quadratic segments lie in
 * the hull of their control points, and a point outside the box of the changed chains has the
 * same winding number in both.
 */
import type { Box } from "../ops";

/** Vertices kept either side of a difference: a quadratic segment spans three of them. */
const REACH = 2;

/** The world box holding every difference between outlines `a` and `b`, or null: the same. */
export function outlineChange(a: readonly number[][], b: readonly number[][]): Box | null {
  const same = (p: number[], q: number[]) => p[0] === q[0] && p[1] === q[1];
  const n = Math.min(a.length, b.length);
  let head = 0;
  while (head < n && same(a[head], b[head])) head++;
  if (head === a.length && a.length === b.length) return null;
  let tail = 0;
  while (tail < n - head && same(a[a.length - 1 - tail], b[b.length - 1 - tail])) tail++;
  const box = { minX: Infinity, minY: Infinity, maxX: -Infinity, maxY: -Infinity };
  for (const pts of [a, b]) {
    // The polygon closes from its last vertex to its first: indices wrap.
    for (let k = head - REACH; k < pts.length - tail + REACH; k++) {
      const p = pts[((k % pts.length) + pts.length) % pts.length];
      if (!p) continue;
      box.minX = Math.min(box.minX, p[0]);
      box.minY = Math.min(box.minY, p[1]);
      box.maxX = Math.max(box.maxX, p[0]);
      box.maxY = Math.max(box.maxY, p[1]);
    }
  }
  return box.minX <= box.maxX ? box : null;
}
