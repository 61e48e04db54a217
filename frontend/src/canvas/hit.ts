/**
 * Hit testing: which element is under a world point, and which lie in a marquee. They ask an
 * ElementQuery (the renderer's scene index) for the few elements near the point.
 */
import { absolutePoints, boundsOf, unrotatedBounds, type BoardState, type Box } from "../ops";
import type { Element } from "../protocol";
import { toLocal } from "./geometry";
import type { ElementQuery } from "./scene";
import { frameHit } from "./shapes";

function segmentDistance(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/** Whether world point (x, y) touches `el`, with `tolerance` world units of slack. */
export function hits(el: Element, x: number, y: number, tolerance: number): boolean {
  const b = boundsOf(el);
  if (x < b.minX - tolerance || x > b.maxX + tolerance || y < b.minY - tolerance || y > b.maxY + tolerance) {
    return false;
  }
  if (el.rot) {
    // A rotated element is tested in its own frame: the point turned back about its centre.
    [x, y] = toLocal(el, x, y);
    const u = unrotatedBounds(el);
    if (x < u.minX - tolerance || x > u.maxX + tolerance || y < u.minY - tolerance || y > u.maxY + tolerance) {
      return false;
    }
  }
  const reach = el.style.width / 2 + tolerance;
  if (el.type === "stroke") {
    const pts = absolutePoints(el);
    if (pts.length === 2) return Math.hypot(x - pts[0], y - pts[1]) <= reach;
    for (let k = 0; k + 3 < pts.length; k += 2) {
      if (segmentDistance(x, y, pts[k], pts[k + 1], pts[k + 2], pts[k + 3]) <= reach) return true;
    }
    return false;
  }
  if (el.type === "frame") return frameHit(el, x, y, tolerance);
  if (el.type === "line" || el.type === "arrow") {
    return segmentDistance(x, y, el.x, el.y, el.x + (el.w ?? 0), el.y + (el.h ?? 0)) <= reach;
  }
  return true;
}

/** The topmost element under (x, y), or null. */
export function topmostAt(scene: ElementQuery, x: number, y: number, tolerance: number): Element | null {
  const els = scene.query({ minX: x - tolerance, minY: y - tolerance, maxX: x + tolerance, maxY: y + tolerance });
  for (let k = els.length - 1; k >= 0; k--) if (hits(els[k], x, y, tolerance)) return els[k];
  return null;
}

export function intersects(a: Box, b: Box): boolean {
  return a.minX <= b.maxX && b.minX <= a.maxX && a.minY <= b.maxY && b.minY <= a.maxY;
}

/** Ids of elements whose bounds intersect `box`. */
export function inMarquee(scene: ElementQuery, box: Box): string[] {
  return scene.query(box).map((el) => el.id);
}

/** An ElementQuery that scans a whole state (for states no index mirrors, e.g. a preview). */
export function scanQuery(state: BoardState): ElementQuery {
  return { query: (box) => [...state.elements.values()].filter((el) => intersects(boundsOf(el), box)) };
}

/** The bounds of every element, or null for an empty board. */
export function contentBounds(state: BoardState): Box | null {
  let box: Box | null = null;
  for (const el of state.elements.values()) {
    const b = boundsOf(el);
    box = box
      ? { minX: Math.min(box.minX, b.minX), minY: Math.min(box.minY, b.minY), maxX: Math.max(box.maxX, b.maxX), maxY: Math.max(box.maxY, b.maxY) }
      : b;
  }
  return box;
}
