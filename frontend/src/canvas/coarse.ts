/**
 * The coarse level of detail a first draw shows before the real one: every element where it
 * is, in its colour, at a small fraction of the cost.
 *
 * What a first draw costs is the 2D canvas's software raster: each path is set up, scanned and
 * anti-aliased on its own, and a board of 10,000 elements is 10,000 of them however small.
 * The coarse picture is instead rasterised here, into pixels of our own, without anti-aliasing,
 * at half a device pixel per world unit at most (tiles.ts; scaled up meanwhile): strokes, lines and
 * outlines as runs of square brush stamps, fills as scanline spans, text as a bar where its
 * lines are. Each pixel is blended once per element (a translucent highlighter does not darken
 * where its own stamps overlap). The 2D canvas's paths were turned down for this: ribbons and
 * hairlines through each stroke's points still cost most of a first draw in raster alone.
 */
import { absolutePoints, boundsOf, unrotatedBounds } from "../ops";
import type { Element } from "../protocol";
import { ARROW_HEAD_ANGLE, arrowHeadLength } from "./draw";
import { DEG, rotationCentre } from "./geometry";

const NOTE_FILL = "#ffec99";
const IMAGE_FILL = "#dee2e6";
const GRID_COLOR = "#d9dce1";
/** Text is shown as a bar this opaque over the middle of its box: legible as "text here". */
const TEXT_BAR_OPACITY = 0.45;
const ELLIPSE_SIDES = 24;

type Pt = [number, number];

/** Pixels of `width` x `height`, opaque, drawn into by elements in world units. */
export class CoarseRaster {
  /** RGBA bytes, row by row (an ImageData's data). */
  readonly data: Uint8ClampedArray<ArrayBuffer>;
  private readonly px: Uint32Array;
  /** Per pixel, the paint that last covered it: each paint (an element's fill, its line) covers a pixel once. */
  private readonly owner: Int32Array;
  private mark = 0;
  private r = 0;
  private g = 0;
  private b = 0;
  private alpha = 1;
  private packed = 0;

  /** `scale`: pixels per world unit; world (x, y) lands on pixel (x * scale + dx, y * scale + dy). */
  constructor(
    readonly width: number,
    readonly height: number,
    private readonly scale: number,
    private readonly dx: number,
    private readonly dy: number,
    background = "#ffffff",
  ) {
    this.data = new Uint8ClampedArray(width * height * 4);
    this.px = new Uint32Array(this.data.buffer);
    this.owner = new Int32Array(width * height).fill(-1);
    this.paint(background, 1);
    this.px.fill(this.packed);
  }

  /** The dot grid (a pixel per dot; the grid's step in world units), below everything. */
  grid(step: number): void {
    if (step * this.scale < 3) return;
    this.paint(GRID_COLOR, 1);
    const x0 = Math.ceil(-this.dx / this.scale / step) * step;
    const y0 = Math.ceil(-this.dy / this.scale / step) * step;
    for (let x = x0; x * this.scale + this.dx < this.width; x += step) {
      for (let y = y0; y * this.scale + this.dy < this.height; y += step) this.dot(x * this.scale + this.dx, y * this.scale + this.dy);
    }
  }

  /** Draw `el` (with its `rot`); what lies outside the pixels is cut. */
  element(el: Element): void {
    const s = el.style;
    switch (el.type) {
      case "stroke": {
        const pts = absolutePoints(el);
        this.paint(s.color, s.opacity);
        this.polyline(el.rot ? this.turn(el, pts) : pts, s.width, false);
        break;
      }
      case "line":
      case "arrow": {
        const [x1, y1] = [el.x + (el.w ?? 0), el.y + (el.h ?? 0)];
        this.paint(s.color, s.opacity);
        this.polyline(this.turn(el, [el.x, el.y, x1, y1]), s.width, false);
        const length = Math.hypot(el.w ?? 0, el.h ?? 0);
        if (el.type === "arrow" && length > 0) {
          const angle = Math.atan2(el.h ?? 0, el.w ?? 0);
          const len = Math.min(arrowHeadLength(s.width), length);
          const [a, b] = [angle - ARROW_HEAD_ANGLE, angle + ARROW_HEAD_ANGLE];
          const head = [x1 - len * Math.cos(a), y1 - len * Math.sin(a), x1, y1, x1 - len * Math.cos(b), y1 - len * Math.sin(b)];
          this.polyline(this.turn(el, head), s.width, false);
        }
        break;
      }
      case "rect":
      case "frame":
      case "note":
      case "diamond":
      case "ellipse": {
        const outline = this.turn(el, shapeOutline(el));
        const fill = el.type === "note" ? (s.fill ?? NOTE_FILL) : s.fill;
        if (fill) {
          this.paint(fill, s.opacity);
          this.fill(outline);
        }
        if (el.type !== "note") {
          this.paint(s.color, s.opacity);
          this.polyline(outline, s.width, true);
        }
        break;
      }
      case "text": {
        const b = boundsOf(el);
        const h = b.maxY - b.minY;
        this.paint(s.color, s.opacity * TEXT_BAR_OPACITY);
        this.fill([b.minX, b.minY + h * 0.25, b.maxX, b.minY + h * 0.25, b.maxX, b.maxY - h * 0.25, b.minX, b.maxY - h * 0.25]);
        break;
      }
      case "image": {
        this.paint(IMAGE_FILL, s.opacity);
        this.fill(this.turn(el, shapeOutline({ ...el, type: "rect" })));
        break;
      }
    }
  }

  /** Flat world points `pts` (x, y, x, y...) turned by `el.rot` about its centre, as drawElement turns it. */
  private turn(el: Element, pts: number[]): number[] {
    if (!el.rot) return pts;
    const [cx, cy] = rotationCentre(el);
    const [c, s] = [Math.cos(el.rot * DEG), Math.sin(el.rot * DEG)];
    const out = new Array<number>(pts.length);
    for (let k = 0; k + 1 < pts.length; k += 2) {
      const [x, y] = [pts[k] - cx, pts[k + 1] - cy];
      out[k] = cx + x * c - y * s;
      out[k + 1] = cy + x * s + y * c;
    }
    return out;
  }

  /** Set the colour and opacity of what is painted next (a new layer: it blends over the last). */
  private paint(color: string, alpha: number): void {
    this.mark++;
    const n = parseInt(color.slice(1, 7), 16);
    const rgb = Number.isNaN(n) || color.length < 7 ? 0 : n;
    [this.r, this.g, this.b] = [rgb >> 16, (rgb >> 8) & 255, rgb & 255];
    this.alpha = Math.max(0, Math.min(1, alpha));
    this.packed = (0xff000000 | (this.b << 16) | (this.g << 8) | this.r) >>> 0;
  }

  /** Blend the current paint into pixels [x0, x1) of row y (integers, cut to the raster), once per paint. */
  private span(x0: number, x1: number, y: number): void {
    if (y < 0 || y >= this.height) return;
    const row = y * this.width;
    const px = this.px;
    const owner = this.owner;
    const mark = this.mark;
    const a = this.alpha;
    const packed = this.packed;
    const end = row + Math.min(this.width, x1);
    for (let i = row + Math.max(0, x0); i < end; i++) {
      if (owner[i] === mark) continue;
      owner[i] = mark;
      if (a >= 1) {
        px[i] = packed;
        continue;
      }
      const d = px[i];
      const b = (this.b * a + ((d >> 16) & 255) * (1 - a) + 0.5) | 0;
      const g = (this.g * a + ((d >> 8) & 255) * (1 - a) + 0.5) | 0;
      const r = (this.r * a + (d & 255) * (1 - a) + 0.5) | 0;
      px[i] = (0xff000000 | (b << 16) | (g << 8) | r) >>> 0;
    }
  }

  private dot(x: number, y: number): void {
    const xi = Math.floor(x);
    this.span(xi, xi + 1, Math.floor(y));
  }

  /** A line through flat world points `pts` (closed: back to the first), `width` world units wide. */
  private polyline(pts: number[], width: number, closed: boolean): void {
    if (pts.length < 2) return;
    const s = this.scale;
    const brush = Math.max(1, Math.floor(width * s));
    const half = (brush - 1) / 2;
    // Square stamps half a brush apart cover the line without gaps.
    const pitch = Math.max(1, brush / 2);
    let x0 = pts[0] * s + this.dx;
    let y0 = pts[1] * s + this.dy;
    this.stamp(x0 - half, y0 - half, brush);
    const n = closed ? pts.length + 2 : pts.length;
    for (let k = 2; k + 1 < n; k += 2) {
      const x1 = pts[k % pts.length] * s + this.dx;
      const y1 = pts[(k + 1) % pts.length] * s + this.dy;
      const steps = Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0)) / pitch);
      for (let t = 1; t <= steps; t++) this.stamp(x0 + ((x1 - x0) * t) / steps - half, y0 + ((y1 - y0) * t) / steps - half, brush);
      x0 = x1;
      y0 = y1;
    }
  }

  /** A square of `size` pixels from (x, y). */
  private stamp(x: number, y: number, size: number): void {
    const left = Math.floor(x);
    const top = Math.floor(y);
    for (let j = 0; j < size; j++) this.span(left, left + size, top + j);
  }

  /** Fill the polygon through flat world points `pts` (even-odd), pixel centres inside. */
  private fill(pts: number[]): void {
    const s = this.scale;
    const dev: Pt[] = [];
    for (let k = 0; k + 1 < pts.length; k += 2) dev.push([pts[k] * s + this.dx, pts[k + 1] * s + this.dy]);
    let lo = Infinity;
    let hi = -Infinity;
    for (const p of dev) {
      lo = Math.min(lo, p[1]);
      hi = Math.max(hi, p[1]);
    }
    const top = Math.max(0, Math.floor(lo));
    const bottom = Math.min(this.height - 1, Math.ceil(hi));
    const xs: number[] = [];
    for (let y = top; y <= bottom; y++) {
      const cy = y + 0.5;
      xs.length = 0;
      for (let k = 0; k < dev.length; k++) {
        const p = dev[k];
        const q = dev[(k + 1) % dev.length];
        if (p[1] <= cy !== q[1] <= cy) xs.push(p[0] + ((cy - p[1]) * (q[0] - p[0])) / (q[1] - p[1]));
      }
      xs.sort((a, b) => a - b);
      for (let k = 0; k + 1 < xs.length; k += 2) this.span(Math.round(xs[k]), Math.round(xs[k + 1]), y);
    }
    // A shape thinner than a pixel still shows.
    if (hi - lo < 1 && dev.length > 0) this.dot(dev[0][0], dev[0][1]);
  }
}

/** The unturned outline of a box shape (an ellipse as a polygon), flat, in world units. */
function shapeOutline(el: Element): number[] {
  const b = unrotatedBounds(el);
  const pad = el.style.width / 2;
  const [x0, y0, x1, y1] = [b.minX + pad, b.minY + pad, b.maxX - pad, b.maxY - pad];
  const [cx, cy] = [(x0 + x1) / 2, (y0 + y1) / 2];
  if (el.type === "diamond") return [cx, y0, x1, cy, cx, y1, x0, cy];
  if (el.type !== "ellipse") return [x0, y0, x1, y0, x1, y1, x0, y1];
  const out: number[] = [];
  for (let k = 0; k < ELLIPSE_SIDES; k++) {
    const a = (2 * Math.PI * k) / ELLIPSE_SIDES;
    out.push(cx + ((x1 - x0) / 2) * Math.cos(a), cy + ((y1 - y0) / 2) * Math.sin(a));
  }
  return out;
}
