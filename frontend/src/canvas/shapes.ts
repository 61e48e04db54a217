/**
 * Box shapes (rect, ellipse, diamond, note, frame) and the dash and fill-pattern styles, drawn
 * exactly as the SVG/PNG export draws them (board/export/render_shapes.py): the same dash
 * arrays, hatch lines at the same world places (clip to the shape, then lines in a frame turned
 * 45 degrees about the world origin: what the export's rotated userSpaceOnUse pattern is), the
 * note's offset shadow and the frame's name.
 */
import { absolutePoints, FRAME_LABEL_GAP, FRAME_LABEL_SIZE, NOTE_SHADOW_OFFSET } from "../ops";
import type { Element, Style } from "../protocol";
import { FONT_STACKS } from "./text-draw";

type Context2D = CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D;

/** A note without a fill is this yellow (the palette's sticky-note colour). */
export const NOTE_FILL = "#ffec99";
const NOTE_SHADOW_OPACITY = 0.15;
const FRAME_LABEL_COLOR = "#495057";
/** Hatch spacing and line width: at least these, else in stroke widths (as the export). */
const HATCH_GAP_MIN = 10;
const HATCH_GAP_WIDTHS = 4;
const HATCH_LINE_MIN = 1;
const SOLID: number[] = [];

/** The types drawn by drawBox. */
export const BOX_TYPES: ReadonlySet<string> = new Set(["rect", "ellipse", "diamond", "note", "frame"]);

/** The canvas dash array of a style: [] when solid; dots are 1-unit dashes with round caps. */
export function dashArray(style: Style): number[] {
  const w = style.width;
  if (style.dash === "dash") return [3 * w + 4, 2 * w + 4];
  if (style.dash === "dot") return [1, 2 * w + 3];
  return SOLID;
}

function box(el: Element): [number, number, number, number] {
  const w = el.w ?? 0;
  const h = el.h ?? 0;
  return [Math.min(el.x, el.x + w), Math.min(el.y, el.y + h), Math.abs(w), Math.abs(h)];
}

/** The outline of a box shape, as the export's element (rect from its top-left, clockwise). */
function outline(el: Element): Path2D {
  const [left, top, w, h] = box(el);
  const path = new Path2D();
  if (el.type === "ellipse") {
    path.ellipse(el.x + (el.w ?? 0) / 2, el.y + (el.h ?? 0) / 2, w / 2, h / 2, 0, 0, 2 * Math.PI);
  } else if (el.type === "diamond") {
    path.moveTo(left + w / 2, top);
    path.lineTo(left + w, top + h / 2);
    path.lineTo(left + w / 2, top + h);
    path.lineTo(left, top + h / 2);
    path.closePath();
  } else {
    path.rect(left, top, w, h);
  }
  return path;
}

/** Lines of `color` 45 degrees across `el`'s box, clipped to `path` (cross: both diagonals). */
function hatch(ctx: Context2D, el: Element, path: Path2D, color: string, cross: boolean): void {
  const width = el.style.width;
  const gap = Math.max(HATCH_GAP_MIN, HATCH_GAP_WIDTHS * width);
  const [left, top, w, h] = box(el);
  // The box's corners in the turned frame: (u, v) = the world point turned back by 45 degrees.
  const r = Math.SQRT1_2;
  const us: number[] = [];
  const vs: number[] = [];
  for (const [x, y] of [[left, top], [left + w, top], [left, top + h], [left + w, top + h]]) {
    us.push((x + y) * r);
    vs.push((y - x) * r);
  }
  const [u0, u1, v0, v1] = [Math.min(...us), Math.max(...us), Math.min(...vs), Math.max(...vs)];
  ctx.save();
  ctx.clip(path);
  ctx.rotate(Math.PI / 4);
  ctx.beginPath();
  for (let u = Math.floor((u0 - gap / 2) / gap) * gap + gap / 2; u <= u1; u += gap) {
    ctx.moveTo(u, v0);
    ctx.lineTo(u, v1);
  }
  if (cross) {
    for (let v = Math.floor((v0 - gap / 2) / gap) * gap + gap / 2; v <= v1; v += gap) {
      ctx.moveTo(u0, v);
      ctx.lineTo(u1, v);
    }
  }
  ctx.strokeStyle = color;
  ctx.lineWidth = Math.max(HATCH_LINE_MIN, width / 2);
  ctx.lineCap = "butt";
  ctx.setLineDash(SOLID);
  ctx.stroke();
  ctx.restore();
}

/** A frame's name as drawn: one line. */
export function frameLabel(name: string): string {
  return name.replace(/\r\n?|\n/g, " ");
}

function drawNote(ctx: Context2D, el: Element): void {
  const [left, top, w, h] = box(el);
  const alpha = el.style.opacity;
  ctx.globalAlpha = alpha * NOTE_SHADOW_OPACITY;
  ctx.fillStyle = "#000000";
  ctx.fillRect(left + NOTE_SHADOW_OFFSET, top + NOTE_SHADOW_OFFSET, w, h);
  ctx.globalAlpha = alpha;
  ctx.fillStyle = el.style.fill ?? NOTE_FILL;
  ctx.fillRect(left, top, w, h);
}

/** Draw a rect, ellipse, diamond, note or frame (its fill, pattern, outline and frame name). */
export function drawBox(ctx: Context2D, el: Element): void {
  if (el.type === "note") {
    drawNote(ctx, el);
    return;
  }
  const s = el.style;
  const path = outline(el);
  if (s.fill && s.fs && s.fs !== "solid") {
    hatch(ctx, el, path, s.fill, s.fs === "cross");
  } else if (s.fill) {
    ctx.fillStyle = s.fill;
    ctx.fill(path);
  }
  ctx.strokeStyle = s.color;
  ctx.lineWidth = s.width;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.setLineDash(dashArray(s));
  ctx.stroke(path);
  ctx.setLineDash(SOLID);
  if (el.type === "frame" && el.name) {
    const [left, top] = box(el);
    ctx.font = `${FRAME_LABEL_SIZE}px ${FONT_STACKS.sans}`;
    ctx.textBaseline = "alphabetic";
    ctx.textAlign = "left";
    ctx.fillStyle = FRAME_LABEL_COLOR;
    ctx.fillText(frameLabel(el.name), left, top - FRAME_LABEL_GAP);
  }
}

/** A dashed freehand stroke: its centre line (pressure ignored), smoothed as the export does. */
export function drawDashedStroke(ctx: Context2D, el: Element): void {
  const pts = absolutePoints(el);
  if (pts.length < 2) return;
  ctx.beginPath();
  ctx.moveTo(pts[0], pts[1]);
  for (let k = 2; k + 3 < pts.length; k += 2) {
    ctx.quadraticCurveTo(pts[k], pts[k + 1], (pts[k] + pts[k + 2]) / 2, (pts[k + 1] + pts[k + 3]) / 2);
  }
  ctx.lineTo(pts[pts.length - 2], pts[pts.length - 1]);
  ctx.strokeStyle = el.style.color;
  ctx.lineWidth = el.style.width;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.setLineDash(dashArray(el.style));
  ctx.stroke();
  ctx.setLineDash(SOLID);
}

/** Elements in paint order: frames beneath everything, each kind in z-order. */
export function framesFirst(els: Element[]): Element[] {
  if (!els.some((el) => el.type === "frame")) return els;
  return [...els.filter((el) => el.type === "frame"), ...els.filter((el) => el.type !== "frame")];
}

/**
 * Whether (x, y) touches a frame: its name, or near its border. Its inside is left to what is
 * drawn on it and to the marquee, as in tldraw and Excalidraw.
 */
export function frameHit(el: Element, x: number, y: number, tolerance: number): boolean {
  const [left, top, w, h] = box(el);
  const reach = el.style.width / 2 + tolerance;
  const labelW = (el.name?.length ?? 0) * FRAME_LABEL_SIZE * 0.6;
  if (x >= left && x <= left + labelW && y >= top - FRAME_LABEL_GAP - FRAME_LABEL_SIZE && y <= top) return true;
  const outside = x < left - reach || x > left + w + reach || y < top - reach || y > top + h + reach;
  const inside = x > left + reach && x < left + w - reach && y > top + reach && y < top + h - reach;
  return !outside && !inside;
}
