/**
 * The selection's transform frame and its handles: where they are, which one a pointer is on,
 * and drawing them (with each selected element's outline and the snap guides) on the live
 * layer. One element is framed in its own rotation; several by the box around them; a single
 * line or arrow gets a handle on each end instead.
 */
import type { Box } from "../ops";
import type { Element } from "../protocol";
import type { Context2D } from "./draw";
import { drawnFrame, frameCorners, frameOf, rotatePoint, rotationCentre, turnedCorners, unionBox, type Point } from "./geometry";
import type { Guide } from "./snap";
import { MOVE_CURSOR } from "./tool";
import { isLinear } from "./transform";

export type ResizeHandle = "nw" | "n" | "ne" | "e" | "se" | "s" | "sw" | "w";
export type HandleName = ResizeHandle | "rot" | "start" | "end";

/** Handle side and the rotation handle's distance above the frame, screen pixels. */
export const HANDLE_PX = 8;
const ROT_OFFSET_PX = 24;
/** How far from a handle's centre a pointer still takes it (screen px; a finger gets more). */
export const HANDLE_HIT_PX = 8;
export const TOUCH_HANDLE_HIT_PX = 16;
const BLUE = "#2f6feb";
const GUIDE = "#e8590c";

/** Where each resize handle sits on the unit box (0..1 of width and height). */
export const HANDLE_AT: Record<ResizeHandle, [number, number]> = {
  nw: [0, 0],
  n: [0.5, 0],
  ne: [1, 0],
  e: [1, 0.5],
  se: [1, 1],
  s: [0.5, 1],
  sw: [0, 1],
  w: [0, 0.5],
};
const CORNERS: ResizeHandle[] = ["nw", "ne", "se", "sw"];
const SIDES: ResizeHandle[] = ["n", "e", "s", "w"];

/** What the handles frame: a box in its own unrotated frame, turned by `rot` about `centre`. */
export interface SelectionFrame {
  box: Box;
  rot: number;
  centre: Point;
  /** The single line or arrow selected (handles on its ends), else null. */
  linear: Element | null;
  /** Whether it has a rotation handle: not when it holds a frame (a frame exports its upright box). */
  turns: boolean;
}

/** The frame of `els` (the selected elements, as currently shown), or null for none. */
export function selectionFrame(els: readonly Element[]): SelectionFrame | null {
  if (els.length === 0) return null;
  const turns = !els.some((el) => el.type === "frame");
  if (els.length === 1) {
    const el = els[0];
    const box = frameOf(el);
    return { box, rot: el.rot ?? 0, centre: rotationCentre(el), linear: isLinear(el) && !el.rot ? el : null, turns };
  }
  const box = unionBox(els.map(drawnFrame))!;
  return { box, rot: 0, centre: [(box.minX + box.maxX) / 2, (box.minY + box.maxY) / 2], linear: null, turns };
}

/** Each handle's world position at this zoom. */
export function handlePositions(frame: SelectionFrame, zoom: number): [HandleName, Point][] {
  if (frame.linear) {
    const el = frame.linear;
    return [
      ["start", [el.x, el.y]],
      ["end", [el.x + (el.w ?? 0), el.y + (el.h ?? 0)]],
    ];
  }
  const { box, rot, centre } = frame;
  const at = (fx: number, fy: number, dy = 0): Point =>
    rotatePoint(box.minX + fx * (box.maxX - box.minX), box.minY + fy * (box.maxY - box.minY) + dy, rot, centre[0], centre[1]);
  const out: [HandleName, Point][] = frame.turns ? [["rot", at(0.5, 0, -ROT_OFFSET_PX / zoom)]] : [];
  // Sides only where there is room between the corners, as in Excalidraw.
  const roomy = Math.min(box.maxX - box.minX, box.maxY - box.minY) * zoom > 3 * HANDLE_PX;
  for (const h of roomy ? [...CORNERS, ...SIDES] : CORNERS) out.push([h, at(...HANDLE_AT[h])]);
  return out;
}

/** The handle within reach of world point (x, y), or null. */
export function handleAt(frame: SelectionFrame, x: number, y: number, zoom: number, touch = false): HandleName | null {
  const reach = (touch ? TOUCH_HANDLE_HIT_PX : HANDLE_HIT_PX) / zoom;
  let best: HandleName | null = null;
  let bestD = Infinity;
  for (const [name, [hx, hy]] of handlePositions(frame, zoom)) {
    const d = Math.hypot(x - hx, y - hy);
    if (d <= reach && d < bestD) [best, bestD] = [name, d];
  }
  return best;
}

/**
 * A curved double arrow for the rotation handle (CSS has no rotate cursor; Excalidraw and
 * tldraw draw their own), white-edged to show on any ink, with `grab` where images are refused.
 */
const ROTATE_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24" viewBox="0 0 24 24" fill="none">' +
  '<g stroke-linecap="round" stroke-linejoin="round">' +
  '<path d="M5 10a7 7 0 0 1 13-2M19 14a7 7 0 0 1-13 2M18 3v5h-5M6 21v-5h5" stroke="#fff" stroke-width="4"/>' +
  '<path d="M5 10a7 7 0 0 1 13-2M19 14a7 7 0 0 1-13 2M18 3v5h-5M6 21v-5h5" stroke="#000" stroke-width="1.6"/>' +
  "</g></svg>";
export const ROTATE_CURSOR = `url("data:image/svg+xml,${encodeURIComponent(ROTATE_SVG)}") 12 12, grab`;
const RESIZE_CURSORS = ["ew-resize", "nwse-resize", "ns-resize", "nesw-resize"];

/**
 * The CSS cursor for a handle on a frame turned by `rot` degrees: a resize handle's arrow
 * points the way the handle drags on screen, to the nearest of the four CSS resize cursors.
 */
export function handleCursor(name: HandleName, rot: number): string {
  if (name === "rot") return ROTATE_CURSOR;
  if (name === "start" || name === "end") return MOVE_CURSOR;
  const [fx, fy] = HANDLE_AT[name];
  const angle = (Math.atan2(fy - 0.5, fx - 0.5) * 180) / Math.PI + rot;
  const step = ((Math.round(angle / 45) % 4) + 4) % 4;
  return RESIZE_CURSORS[step];
}

/** What the live layer shows of a selection. */
export interface Decoration {
  els: readonly Element[];
  frame: SelectionFrame | null;
  guides: readonly Guide[];
  /** Whether to draw handles (not for a viewer, nor while moving). */
  handles: boolean;
}

function polygon(ctx: Context2D, pts: readonly Point[]): void {
  ctx.beginPath();
  ctx.moveTo(pts[0][0], pts[0][1]);
  for (const [x, y] of pts.slice(1)) ctx.lineTo(x, y);
  ctx.closePath();
  ctx.stroke();
}

/**
 * Draw outlines, frame, handles and guides in world coordinates (the context's transform);
 * returns the world box drawn over, for the live layer to clear next frame.
 */
export function drawDecoration(ctx: Context2D, d: Decoration, zoom: number): Box | null {
  const drawn: Point[] = [];
  ctx.lineWidth = 1.5 / zoom;
  ctx.strokeStyle = BLUE;
  ctx.setLineDash(d.els.length > 1 || !d.frame || !d.handles ? [6 / zoom, 4 / zoom] : []);
  for (const el of d.els) {
    if (isLinear(el) && d.els.length === 1) continue;
    const corners = frameCorners(el);
    polygon(ctx, corners);
    drawn.push(...corners);
  }
  ctx.setLineDash([]);
  const f = d.frame;
  if (f && d.handles) {
    if (!f.linear && d.els.length > 1) {
      const corners = turnedCorners(f.box, f.rot, f.centre[0], f.centre[1]);
      polygon(ctx, corners);
      drawn.push(...corners);
    }
    const positions = handlePositions(f, zoom);
    const half = HANDLE_PX / 2 / zoom;
    const top = rotatePoint((f.box.minX + f.box.maxX) / 2, f.box.minY, f.rot, f.centre[0], f.centre[1]);
    for (const [name, [x, y]] of positions) {
      ctx.fillStyle = "#ffffff";
      ctx.beginPath();
      if (name === "rot" || name === "start" || name === "end") {
        if (name === "rot") {
          ctx.moveTo(top[0], top[1]);
          ctx.lineTo(x, y);
          ctx.stroke();
          ctx.beginPath();
        }
        ctx.arc(x, y, half * 1.1, 0, 2 * Math.PI);
      } else {
        ctx.rect(x - half, y - half, 2 * half, 2 * half);
      }
      ctx.fill();
      ctx.stroke();
      drawn.push([x - 2 * half, y - 2 * half], [x + 2 * half, y + 2 * half]);
    }
  }
  ctx.strokeStyle = GUIDE;
  ctx.lineWidth = 1 / zoom;
  for (const g of d.guides) {
    ctx.beginPath();
    ctx.moveTo(g.x1, g.y1);
    ctx.lineTo(g.x2, g.y2);
    ctx.stroke();
    drawn.push([g.x1, g.y1], [g.x2, g.y2]);
  }
  if (drawn.length === 0) return null;
  const pad = 4 / zoom;
  const b = unionBox(drawn.map(([x, y]) => ({ minX: x - pad, minY: y - pad, maxX: x + pad, maxY: y + pad })));
  return b;
}
