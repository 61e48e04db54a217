/**
 * Element frames and rotation: the unrotated box a transform works on, the point an element's
 * `rot` turns it about, points between world and an element's own (unrotated) frame, and
 * angles snapped to 15° steps. Small and in the main bundle: drawing and hit tests need it;
 * the transform tool itself is loaded on demand (transform-loader.ts).
 *
 * The rotation centre is the centre of ops.unrotatedBounds (padding is symmetric, so it is also
 * the centre of the frame), exactly what board/document/geometry.py rotation_centre computes,
 * so the canvas, the hit test and the exports turn an element about the same point.
 */
import { absolutePoints, unrotatedBounds, type Box } from "../ops";
import type { Element } from "../protocol";

export type Point = [number, number];

export const DEG = Math.PI / 180;

const centres = new WeakMap<Element, Point>();

/** The point `el.rot` turns `el` about (cached per element object: elements are immutable). */
export function rotationCentre(el: Element): Point {
  let c = centres.get(el);
  if (!c) {
    const b = unrotatedBounds(el);
    centres.set(el, (c = [(b.minX + b.maxX) / 2, (b.minY + b.maxY) / 2]));
  }
  return c;
}

/** (x, y) turned by `deg` degrees (clockwise on screen, y down) about (cx, cy). */
export function rotatePoint(x: number, y: number, deg: number, cx: number, cy: number): Point {
  if (!deg) return [x, y];
  const c = Math.cos(deg * DEG);
  const s = Math.sin(deg * DEG);
  const dx = x - cx;
  const dy = y - cy;
  return [cx + dx * c - dy * s, cy + dx * s + dy * c];
}

/** A world point in `el`'s unrotated frame (where its geometry fields live). */
export function toLocal(el: Element, x: number, y: number): Point {
  if (!el.rot) return [x, y];
  const [cx, cy] = rotationCentre(el);
  return rotatePoint(x, y, -el.rot, cx, cy);
}

/**
 * The element's geometric box without rotation or stroke width: a shape's x/y/w/h, a stroke's
 * drawn points, a text's estimated block. Handles sit on it and snapping aligns its edges.
 */
export function frameOf(el: Element): Box {
  if (el.type === "stroke") {
    const pts = absolutePoints(el);
    if (pts.length === 0) return { minX: el.x, minY: el.y, maxX: el.x, maxY: el.y };
    const box = { minX: pts[0], minY: pts[1], maxX: pts[0], maxY: pts[1] };
    for (let k = 2; k + 1 < pts.length; k += 2) {
      box.minX = Math.min(box.minX, pts[k]);
      box.maxX = Math.max(box.maxX, pts[k]);
      box.minY = Math.min(box.minY, pts[k + 1]);
      box.maxY = Math.max(box.maxY, pts[k + 1]);
    }
    return box;
  }
  if (el.w !== undefined && el.h !== undefined && el.type !== "text") {
    const x2 = el.x + el.w;
    const y2 = el.y + el.h;
    return { minX: Math.min(el.x, x2), minY: Math.min(el.y, y2), maxX: Math.max(el.x, x2), maxY: Math.max(el.y, y2) };
  }
  return unrotatedBounds(el);
}

/** The four corners of `box` turned by `deg` about (cx, cy): top-left, top-right, bottom-right, bottom-left. */
export function turnedCorners(box: Box, deg: number, cx: number, cy: number): Point[] {
  return [
    rotatePoint(box.minX, box.minY, deg, cx, cy),
    rotatePoint(box.maxX, box.minY, deg, cx, cy),
    rotatePoint(box.maxX, box.maxY, deg, cx, cy),
    rotatePoint(box.minX, box.maxY, deg, cx, cy),
  ];
}

/** The frame's corners as drawn (rotated), in world units. */
export function frameCorners(el: Element): Point[] {
  const [cx, cy] = rotationCentre(el);
  return turnedCorners(frameOf(el), el.rot ?? 0, cx, cy);
}

/** The axis-aligned box around points. */
export function boxOfPoints(pts: readonly Point[]): Box {
  const box = { minX: Infinity, minY: Infinity, maxX: -Infinity, maxY: -Infinity };
  for (const [x, y] of pts) {
    box.minX = Math.min(box.minX, x);
    box.maxX = Math.max(box.maxX, x);
    box.minY = Math.min(box.minY, y);
    box.maxY = Math.max(box.maxY, y);
  }
  return box;
}

/** The world box around the frame as drawn (what a multi-selection's handles enclose). */
export function drawnFrame(el: Element): Box {
  return el.rot ? boxOfPoints(frameCorners(el)) : frameOf(el);
}

/** The box around every box, or null for none. */
export function unionBox(boxes: Iterable<Box>): Box | null {
  let out: Box | null = null;
  for (const b of boxes) {
    out = out
      ? { minX: Math.min(out.minX, b.minX), minY: Math.min(out.minY, b.minY), maxX: Math.max(out.maxX, b.maxX), maxY: Math.max(out.maxY, b.maxY) }
      : { ...b };
  }
  return out;
}

/** Shift turns angles in steps of this many degrees (Excalidraw's and tldraw's step). */
export const ANGLE_STEP_DEG = 15;
/** `deg` rounded to the nearest multiple of `step`, in 0 <= deg < 360. */
export function snapDegrees(deg: number, step = ANGLE_STEP_DEG): number {
  const snapped = Math.round(deg / step) * step;
  return ((snapped % 360) + 360) % 360;
}

/**
 * The vector (dx, dy) turned to the nearest multiple of `step` degrees, keeping its length
 * projected on that direction (what the pointer means along the snapped line), as integers.
 */
export function snapVector(dx: number, dy: number, step = ANGLE_STEP_DEG): [number, number] {
  const len = Math.hypot(dx, dy);
  if (len === 0) return [0, 0];
  const angle = (Math.round(Math.atan2(dy, dx) / ((step * Math.PI) / 180)) * step * Math.PI) / 180;
  const ux = Math.cos(angle);
  const uy = Math.sin(angle);
  const along = dx * ux + dy * uy;
  return [Math.round(along * ux), Math.round(along * uy)];
}
