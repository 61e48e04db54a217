/**
 * Snapping, pure: a moved or resized box's edges and centre lines to other elements' edges and
 * centres, with the guide lines that show what it aligned to; and (from geometry.ts, which the
 * shape tools share) angles to 15° steps. World units in and out; the caller converts its
 * screen-pixel threshold with the zoom.
 */
import type { Box } from "../ops";

export { ANGLE_STEP_DEG, snapDegrees, snapVector } from "./geometry";

/** Edges within this many screen pixels of another element's line snap to it. */
export const SNAP_PX = 6;

/** A guide line in world units, drawn while a snap holds. */
export interface Guide {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** The three lines of a box on one axis: min edge, centre, max edge. */
function lines(box: Box, axis: "x" | "y"): number[] {
  return axis === "x" ? [box.minX, (box.minX + box.maxX) / 2, box.maxX] : [box.minY, (box.minY + box.maxY) / 2, box.maxY];
}

interface AxisSnap {
  /** What to add to the moving lines' coordinate. */
  offset: number;
  /** The world coordinate snapped to. */
  at: number;
}

/**
 * The smallest correction bringing one of `moving` (coordinates) onto a line of `others` on
 * `axis`, within `threshold`, or null.
 */
function nearest(moving: readonly number[], others: readonly Box[], axis: "x" | "y", threshold: number): AxisSnap | null {
  let best: AxisSnap | null = null;
  for (const other of others) {
    for (const target of lines(other, axis)) {
      for (const m of moving) {
        const d = target - m;
        if (Math.abs(d) <= threshold && (best === null || Math.abs(d) < Math.abs(best.offset))) best = { offset: d, at: target };
      }
    }
  }
  return best;
}

/** Guides through `at` on `axis`, spanning `box` and every other box with a line there. */
function guidesAt(at: number, axis: "x" | "y", box: Box, others: readonly Box[]): Guide {
  const across = axis === "x" ? ([box.minY, box.maxY] as const) : ([box.minX, box.maxX] as const);
  let lo = across[0];
  let hi = across[1];
  for (const other of others) {
    if (!lines(other, axis).some((v) => Math.abs(v - at) < 1e-6)) continue;
    lo = Math.min(lo, axis === "x" ? other.minY : other.minX);
    hi = Math.max(hi, axis === "x" ? other.maxY : other.maxX);
  }
  return axis === "x" ? { x1: at, y1: lo, x2: at, y2: hi } : { x1: lo, y1: at, x2: hi, y2: at };
}

export interface MoveSnap {
  /** Corrections to add to the move. */
  dx: number;
  dy: number;
  guides: Guide[];
}

/**
 * Snap a box being moved: its left, centre and right lines to the others' (and the same for
 * top, middle, bottom), each axis on its own, within `threshold` world units.
 */
export function snapMove(box: Box, others: readonly Box[], threshold: number): MoveSnap {
  const sx = nearest(lines(box, "x"), others, "x", threshold);
  const sy = nearest(lines(box, "y"), others, "y", threshold);
  const dx = sx?.offset ?? 0;
  const dy = sy?.offset ?? 0;
  const moved = { minX: box.minX + dx, minY: box.minY + dy, maxX: box.maxX + dx, maxY: box.maxY + dy };
  const guides: Guide[] = [];
  if (sx) guides.push(guidesAt(sx.at, "x", moved, others));
  if (sy) guides.push(guidesAt(sy.at, "y", moved, others));
  return { dx, dy, guides };
}

/** Which edges of a box a resize handle moves. */
export interface Edges {
  minX?: boolean;
  maxX?: boolean;
  minY?: boolean;
  maxY?: boolean;
}

/**
 * Snap the moving edges of a box being resized to the others' lines within `threshold`;
 * the other edges stay. Returns the box and its guides.
 */
export function snapEdges(box: Box, edges: Edges, others: readonly Box[], threshold: number): { box: Box; guides: Guide[] } {
  const out = { ...box };
  const guides: Guide[] = [];
  for (const axis of ["x", "y"] as const) {
    const lo = axis === "x" ? "minX" : "minY";
    const hi = axis === "x" ? "maxX" : "maxY";
    const moving = [edges[lo] ? lo : null, edges[hi] ? hi : null].filter((k): k is typeof lo | typeof hi => k !== null);
    if (moving.length === 0) continue;
    const snap = nearest(
      moving.map((k) => out[k]),
      others,
      axis,
      threshold,
    );
    if (!snap) continue;
    for (const k of moving) out[k] += snap.offset;
    guides.push(guidesAt(snap.at, axis, out, others));
  }
  return { box: out, guides };
}
