/**
 * Drawing elements onto a 2D context in world coordinates (the context carries the transform).
 *
 * Stroke outlines come from perfect-freehand and are cached per element object in a WeakMap:
 * elements are immutable (ops replace them), so a cache entry can never be stale and is
 * collected with the element. Zoomed out, strokes are outlined from fewer points (level of
 * detail) and an element smaller than a device pixel is one pixel of its colour.
 */
import { drawImageElement } from "./images";
import { getStroke } from "perfect-freehand";
import { absolutePoints, boundsOf, unrotatedBounds, type Box } from "../ops";
import type { Element } from "../protocol";
import { BOX_TYPES, dashArray, drawBox, drawDashedStroke, NOTE_FILL } from "./shapes";
import { drawLabel, drawText, textInk } from "./text-draw";
import { isLabelled } from "./text-layout";
import { boxOfPoints, DEG, rotationCentre, turnedCorners } from "./geometry";

/** Opacity at or below which a stroke is drawn as highlighter ink: flat, no thinning. */
export const HIGHLIGHTER_MAX_OPACITY = 0.5;
/** Dot grid spacing in world units. */
export const GRID_STEP = 32;
/** Below this zoom the dot grid is not drawn. */
export const GRID_MIN_ZOOM = 0.3;
/** Below this scale (device px per world unit) strokes are outlined from simplified points. */
const LOD_SCALE = 0.5;

const outlines = new WeakMap<Element, Path2D>();
const simplified = new WeakMap<Element, Map<number, Path2D>>();

/** Closed outline through `pts` with quadratic segments between midpoints. */
function outlinePath(pts: number[][]): Path2D {
  const path = new Path2D();
  if (pts.length === 0) return path;
  path.moveTo(pts[0][0], pts[0][1]);
  for (let k = 0; k < pts.length; k++) {
    const [x0, y0] = pts[k];
    const [x1, y1] = pts[(k + 1) % pts.length];
    path.quadraticCurveTo(x0, y0, (x0 + x1) / 2, (y0 + y1) / 2);
  }
  path.closePath();
  return path;
}

/** The stroke's input points, dropping those within `tolerance` world units of the last kept. */
function strokeInput(el: Element, tolerance: number): number[][] {
  const pts = absolutePoints(el);
  const input: number[][] = [];
  let lx = Infinity;
  let ly = Infinity;
  const last = pts.length - 2;
  for (let k = 0; k + 1 < pts.length; k += 2) {
    if (tolerance > 0 && k !== last && Math.abs(pts[k] - lx) + Math.abs(pts[k + 1] - ly) < tolerance) continue;
    lx = pts[k];
    ly = pts[k + 1];
    const pressure = el.pr ? el.pr[k / 2] / 100 : 0.5;
    input.push([pts[k], pts[k + 1], pressure]);
  }
  return input;
}

function buildOutline(el: Element, tolerance: number): Path2D {
  return outlinePath(strokeOutlinePoints(el, tolerance));
}

/** The stroke's outline polygon (perfect-freehand), as the canvas fills it; SVG copies use it too. */
export function strokeOutlinePoints(el: Element, tolerance = 0): number[][] {
  const highlighter = el.style.opacity <= HIGHLIGHTER_MAX_OPACITY;
  return getStroke(strokeInput(el, tolerance), {
    size: el.style.width,
    // Real stylus pressure gets pronounced thinning; simulated (mouse, touch) only a hint of it,
    // or fast mouse strokes come out hairline-thin.
    thinning: highlighter ? 0 : el.pr ? 0.6 : 0.25,
    smoothing: 0.5,
    streamline: 0.4,
    simulatePressure: !el.pr,
    last: true,
  });
}

/** The stroke's filled outline; at `scale` below LOD_SCALE, from points a device pixel apart. */
export function strokeOutline(el: Element, scale = 1): Path2D {
  if (scale >= LOD_SCALE) {
    let path = outlines.get(el);
    if (!path) outlines.set(el, (path = buildOutline(el, 0)));
    return path;
  }
  // Tolerances in powers of two, so a zoom gesture reuses a handful of levels per stroke.
  const tolerance = 2 ** Math.floor(Math.log2(1 / scale));
  let levels = simplified.get(el);
  if (!levels) simplified.set(el, (levels = new Map()));
  let path = levels.get(tolerance);
  if (!path) levels.set(tolerance, (path = buildOutline(el, tolerance)));
  return path;
}

/**
 * The outline polygon `drawElement` fills for `el` at `scale` (its path cached for it), or null
 * when it is drawn otherwise (dashed, turned, simplified, a speck, not a stroke).
 */
export function plainOutline(el: Element, scale: number): number[][] | null {
  const b = boundsOf(el);
  const speck = (b.maxX - b.minX) * scale < 1 && (b.maxY - b.minY) * scale < 1;
  if (el.type !== "stroke" || el.rot || (el.style.dash && el.style.dash !== "solid") || scale < LOD_SCALE || speck) return null;
  const pts = strokeOutlinePoints(el);
  if (!outlines.has(el)) outlines.set(el, outlinePath(pts));
  return pts;
}

/**
 * The arrowhead rule, the same in every export (board/document/geometry.py ARROW_HEAD_*): two
 * strokes back from the tip, each ARROW_HEAD_ANGLE off the shaft, max(ARROW_HEAD_MIN,
 * ARROW_HEAD_WIDTHS x width) long but no longer than the arrow, in its colour and width.
 */
export const ARROW_HEAD_WIDTHS = 4;
export const ARROW_HEAD_MIN = 8;
export const ARROW_HEAD_ANGLE = Math.PI / 7;

export function arrowHeadLength(width: number): number {
  return Math.max(ARROW_HEAD_MIN, width * ARROW_HEAD_WIDTHS);
}

function drawArrowHead(ctx: CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D, el: Element): void {
  const w = el.w ?? 0;
  const h = el.h ?? 0;
  const length = Math.hypot(w, h);
  if (length === 0) return;
  const x2 = el.x + w;
  const y2 = el.y + h;
  const angle = Math.atan2(h, w);
  const len = Math.min(arrowHeadLength(el.style.width), length);
  ctx.beginPath();
  ctx.moveTo(x2 - len * Math.cos(angle - ARROW_HEAD_ANGLE), y2 - len * Math.sin(angle - ARROW_HEAD_ANGLE));
  ctx.lineTo(x2, y2);
  ctx.lineTo(x2 - len * Math.cos(angle + ARROW_HEAD_ANGLE), y2 - len * Math.sin(angle + ARROW_HEAD_ANGLE));
  ctx.stroke();
}

export type Context2D = CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D;
const NO_DASH: number[] = [];

/**
 * Draw one element; `scale` is device pixels per world unit (for the level of detail: one
 * smaller than a device pixel is drawn as a one-pixel speck of its colour, not as a shape).
 */
export function drawElement(ctx: Context2D, el: Element, scale = 1): void {
  // Only the state this element's kind uses is set: on a board of thousands of elements the
  // setters are a measurable part of a draw.
  const s = el.style;
  ctx.globalAlpha = s.opacity;
  const b = boundsOf(el);
  if ((b.maxX - b.minX) * scale < 1 && (b.maxY - b.minY) * scale < 1) {
    // Far out a board of small strokes would otherwise look empty.
    ctx.fillStyle = BOX_TYPES.has(el.type) ? (s.fill ?? (el.type === "note" ? NOTE_FILL : s.color)) : s.color;
    ctx.fillRect((b.minX + b.maxX) / 2 - 0.5 / scale, (b.minY + b.maxY) / 2 - 0.5 / scale, 1 / scale, 1 / scale);
    ctx.globalAlpha = 1;
    return;
  }
  if (el.rot) {
    // Turned about the centre of its unrotated box, as the SVG export's rotate() does.
    const [cx, cy] = rotationCentre(el);
    ctx.save();
    ctx.translate(cx, cy);
    ctx.rotate(el.rot * DEG);
    ctx.translate(-cx, -cy);
  }
  switch (el.type) {
    case "stroke":
      if (s.dash && s.dash !== "solid") {
        drawDashedStroke(ctx, el);
        break;
      }
      ctx.fillStyle = s.color;
      ctx.fill(strokeOutline(el, scale));
      break;
    case "rect":
    case "ellipse":
    case "diamond":
    case "note":
    case "frame":
      drawBox(ctx, el);
      break;
    case "line":
    case "arrow":
      lineStyle(ctx, el);
      ctx.setLineDash(dashArray(s));
      ctx.beginPath();
      ctx.moveTo(el.x, el.y);
      ctx.lineTo(el.x + (el.w ?? 0), el.y + (el.h ?? 0));
      ctx.stroke();
      ctx.setLineDash(NO_DASH);
      if (el.type === "arrow") drawArrowHead(ctx, el);
      break;
    case "text":
      drawText(ctx, el);
      break;
    case "image":
      drawImageElement(ctx, el, scale);
      break;
  }
  if (el.text && isLabelled(el)) drawLabel(ctx, el);
  if (el.rot) ctx.restore();
  ctx.globalAlpha = 1;
}

function lineStyle(ctx: Context2D, el: Element): void {
  ctx.strokeStyle = el.style.color;
  ctx.lineWidth = el.style.width;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
}

const inkCache = new WeakMap<Element, Box>();

/**
 * Everywhere `el` may leave ink, which can be more than its hit-test bounds: an arrow's head,
 * a stroke widened by pressure (perfect-freehand's radius reaches 0.8 of the width), glyphs
 * wider than estimated. Tiles draw and redraw by these, or an element would be cut at a
 * tile's edge.
 */
export function inkBounds(el: Element): Box {
  let box = inkCache.get(el);
  if (box) return box;
  const b = unrotatedBounds(el);
  const pad = el.type === "stroke" ? el.style.width : el.type === "arrow" ? arrowHeadLength(el.style.width) : 0;
  box = { minX: b.minX - pad, minY: b.minY - pad, maxX: b.maxX + pad, maxY: b.maxY + pad };
  if (el.type === "text" || (el.text && isLabelled(el))) box = textInk(el, box);
  if (el.rot) {
    const [cx, cy] = rotationCentre(el);
    box = boxOfPoints(turnedCorners(box, el.rot, cx, cy));
  }
  inkCache.set(el, box);
  return box;
}

/** The dot grid over world region `box` (dots straddling its edges included). */
export function drawGrid(ctx: Context2D, box: Box, zoom: number): void {
  if (zoom < GRID_MIN_ZOOM) return;
  ctx.fillStyle = "#d9dce1";
  const r = 1 / zoom;
  const x1 = box.maxX + r;
  const y1 = box.maxY + r;
  for (let x = Math.ceil((box.minX - r) / GRID_STEP) * GRID_STEP; x < x1; x += GRID_STEP) {
    for (let y = Math.ceil((box.minY - r) / GRID_STEP) * GRID_STEP; y < y1; y += GRID_STEP) {
      ctx.fillRect(x - r, y - r, 2 * r, 2 * r);
    }
  }
}
