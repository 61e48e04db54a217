/**
 * The coarse level of detail a first draw shows before the real one: every element where it
 * is, in its colour, at a fraction of the cost.
 *
 * What a first draw costs is the software raster of thousands of anti-aliased paths, and it
 * grows with their size in pixels: the coarse picture is drawn at COARSE_SCALE device pixels per
 * world unit at most and scaled up. A stroke's real outline comes from perfect-freehand, and
 * building it and filling its curves cost more than anything else on a board; coarse, a stroke
 * is a ribbon of straight edges through its own points, a few device pixels apart, as wide as
 * its pressure makes it, or a hairline when it is a few pixels wide or less (Skia's cheapest line).
 * Shapes and text are cheap already and are drawn as they are.
 */
import { absolutePoints } from "../ops";
import type { Element } from "../protocol";
import { drawElement, HIGHLIGHTER_MAX_OPACITY, type Context2D } from "./draw";

/** Device pixels per world unit the coarse picture is drawn at, at most. */
export const COARSE_SCALE = 0.5;
/** Device pixels between a coarse stroke's kept points. */
const STEP_PX = 3;
/**
 * A stroke at most this many device pixels wide is drawn as a hairline: a ribbon costs several
 * times as much to fill, and the picture is replaced within a second.
 */
const HAIRLINE_PX = 2.5;

/**
 * The ribbon's half-width at each kept point, as perfect-freehand's radius would be with the
 * stroke's thinning at that pressure (simulated pressure taken as its middle value).
 */
function thinning(el: Element): number {
  if (el.style.opacity <= HIGHLIGHTER_MAX_OPACITY) return 0;
  return el.pr ? 0.6 : 0;
}

/**
 * The stroke's points at least `step` world units apart (first and last always kept), as
 * [x, y, radius] triples in one flat array.
 */
export function ribbonPoints(el: Element, step: number): number[] {
  const pts = absolutePoints(el);
  const size = el.style.width;
  const thin = thinning(el);
  const out: number[] = [];
  let lx = Infinity;
  let ly = Infinity;
  const last = pts.length - 2;
  for (let k = 0; k + 1 < pts.length; k += 2) {
    const x = pts[k];
    const y = pts[k + 1];
    if (k !== last && Math.abs(x - lx) + Math.abs(y - ly) < step) continue;
    const pressure = el.pr ? el.pr[k / 2] / 100 : 0.5;
    out.push(x, y, Math.max(0.25, size * (0.5 - thin * (0.5 - pressure))));
    lx = x;
    ly = y;
  }
  return out;
}

/** Trace the ribbon through `r` (ribbonPoints) as one closed polygon on `ctx`'s current path. */
function traceRibbon(ctx: Context2D, r: number[]): void {
  const n = r.length / 3;
  // Normals from the neighbours on either side; the ends reach out by their radius, as a
  // round cap would.
  const side: number[] = new Array(n * 4);
  for (let k = 0; k < n; k++) {
    const a = Math.max(0, k - 1) * 3;
    const b = Math.min(n - 1, k + 1) * 3;
    let dx = r[b] - r[a];
    let dy = r[b + 1] - r[a + 1];
    const len = Math.hypot(dx, dy) || 1;
    dx /= len;
    dy /= len;
    const rad = r[k * 3 + 2];
    const reach = k === 0 ? -rad : k === n - 1 ? rad : 0;
    const cx = r[k * 3] + dx * reach;
    const cy = r[k * 3 + 1] + dy * reach;
    side[k * 4] = cx - dy * rad;
    side[k * 4 + 1] = cy + dx * rad;
    side[k * 4 + 2] = cx + dy * rad;
    side[k * 4 + 3] = cy - dx * rad;
  }
  ctx.moveTo(side[0], side[1]);
  for (let k = 1; k < n; k++) ctx.lineTo(side[k * 4], side[k * 4 + 1]);
  for (let k = n - 1; k >= 0; k--) ctx.lineTo(side[k * 4 + 2], side[k * 4 + 3]);
  ctx.closePath();
}

/** Draw `el` at the coarse level of detail; `scale` is device pixels per world unit. */
export function drawCoarse(ctx: Context2D, el: Element, scale: number): void {
  if (el.type !== "stroke") {
    drawElement(ctx, el, scale);
    return;
  }
  const r = ribbonPoints(el, STEP_PX / scale);
  if (r.length < 6) {
    // A dot: drawn as it is (a speck, or a small outline).
    drawElement(ctx, el, scale);
    return;
  }
  ctx.globalAlpha = el.style.opacity;
  ctx.beginPath();
  if (el.style.width * scale <= HAIRLINE_PX) {
    ctx.moveTo(r[0], r[1]);
    for (let k = 3; k < r.length; k += 3) ctx.lineTo(r[k], r[k + 1]);
    ctx.strokeStyle = el.style.color;
    ctx.lineWidth = el.style.width;
    ctx.lineCap = "butt";
    ctx.lineJoin = "miter";
    ctx.stroke();
  } else {
    traceRibbon(ctx, r);
    ctx.fillStyle = el.style.color;
    ctx.fill();
  }
  ctx.globalAlpha = 1;
}
