/**
 * Drawing a board state onto a 2D canvas: elements in z-order, selection, drafts and cursors.
 *
 * Stroke outlines come from perfect-freehand and are cached per element object in a WeakMap:
 * elements are immutable (ops replace them), so a cache entry can never be stale and is
 * collected with the element.
 */
import { getStroke } from "perfect-freehand";
import { absolutePoints, boundsOf, type BoardState, type Box } from "../ops";
import type { Element } from "../protocol";
import type { Camera } from "./camera";

/** Opacity at or below which a stroke is drawn as highlighter ink: flat, no thinning. */
export const HIGHLIGHTER_MAX_OPACITY = 0.5;
/** Dot grid spacing in world units. */
const GRID_STEP = 32;

export interface RemoteCursor {
  name: string;
  color: string;
  x: number;
  y: number;
}

export interface Overlay {
  selection: ReadonlySet<string>;
  marquee: Box | null;
  /** Elements being drawn locally, drawn over (and instead of) same-id elements. */
  drafts: readonly Element[];
  cursors: readonly RemoteCursor[];
}

const outlines = new WeakMap<Element, Path2D>();


function svgPathFromOutline(points: number[][]): string {
  if (points.length === 0) return "";
  const d: (string | number)[] = ["M", points[0][0], points[0][1], "Q"];
  for (let k = 0; k < points.length; k++) {
    const [x0, y0] = points[k];
    const [x1, y1] = points[(k + 1) % points.length];
    d.push(x0, y0, (x0 + x1) / 2, (y0 + y1) / 2);
  }
  d.push("Z");
  return d.join(" ");
}

export function strokeOutline(el: Element): Path2D {
  const cached = outlines.get(el);
  if (cached) return cached;
  const pts = absolutePoints(el);
  const input: number[][] = [];
  for (let k = 0; k + 1 < pts.length; k += 2) {
    const pressure = el.pr ? el.pr[k / 2] / 100 : 0.5;
    input.push([pts[k], pts[k + 1], pressure]);
  }
  const highlighter = el.style.opacity <= HIGHLIGHTER_MAX_OPACITY;
  const outline = getStroke(input, {
    size: el.style.width,
    // Real stylus pressure gets pronounced thinning; simulated (mouse, touch) only a hint of it,
    // or fast mouse strokes come out hairline-thin.
    thinning: highlighter ? 0 : el.pr ? 0.6 : 0.25,
    smoothing: 0.5,
    streamline: 0.4,
    simulatePressure: !el.pr,
    last: true,
  });
  const path = new Path2D(svgPathFromOutline(outline));
  outlines.set(el, path);
  return path;
}

function drawArrowHead(ctx: CanvasRenderingContext2D, el: Element): void {
  const x2 = el.x + (el.w ?? 0);
  const y2 = el.y + (el.h ?? 0);
  const angle = Math.atan2(y2 - el.y, x2 - el.x);
  const len = Math.max(10, el.style.width * 4);
  ctx.beginPath();
  ctx.moveTo(x2 - len * Math.cos(angle - Math.PI / 7), y2 - len * Math.sin(angle - Math.PI / 7));
  ctx.lineTo(x2, y2);
  ctx.lineTo(x2 - len * Math.cos(angle + Math.PI / 7), y2 - len * Math.sin(angle + Math.PI / 7));
  ctx.stroke();
}

/** Draw one element in world coordinates (the context already carries the camera transform). */
export function drawElement(ctx: CanvasRenderingContext2D, el: Element): void {
  const s = el.style;
  ctx.globalAlpha = s.opacity;
  ctx.strokeStyle = s.color;
  ctx.fillStyle = s.color;
  ctx.lineWidth = s.width;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  switch (el.type) {
    case "stroke":
      ctx.fill(strokeOutline(el));
      break;
    case "rect":
    case "ellipse": {
      ctx.beginPath();
      const w = el.w ?? 0;
      const h = el.h ?? 0;
      if (el.type === "rect") ctx.rect(el.x, el.y, w, h);
      else ctx.ellipse(el.x + w / 2, el.y + h / 2, Math.abs(w / 2), Math.abs(h / 2), 0, 0, 2 * Math.PI);
      if (s.fill) {
        ctx.fillStyle = s.fill;
        ctx.fill();
      }
      ctx.stroke();
      break;
    }
    case "line":
    case "arrow":
      ctx.beginPath();
      ctx.moveTo(el.x, el.y);
      ctx.lineTo(el.x + (el.w ?? 0), el.y + (el.h ?? 0));
      ctx.stroke();
      if (el.type === "arrow") drawArrowHead(ctx, el);
      break;
    case "text": {
      const size = el.size ?? 24;
      ctx.font = `${size}px system-ui, sans-serif`;
      ctx.textBaseline = "top";
      (el.text ?? "").split("\n").forEach((line, n) => ctx.fillText(line, el.x, el.y + n * size * 1.25));
      break;
    }
  }
  ctx.globalAlpha = 1;
}

export class Renderer {
  private readonly ctx: CanvasRenderingContext2D;
  private readonly scene: HTMLCanvasElement;
  private readonly sceneCtx: CanvasRenderingContext2D;
  private sceneKey = "";
  width = 0;
  height = 0;

  constructor(private readonly canvas: HTMLCanvasElement) {
    const ctx = canvas.getContext("2d");
    this.scene = document.createElement("canvas");
    const sceneCtx = this.scene.getContext("2d");
    if (!ctx || !sceneCtx) throw new Error("2D canvas is not available in this browser");
    this.ctx = ctx;
    this.sceneCtx = sceneCtx;
  }

  /** Match the backing store to the CSS size and device pixel ratio. */
  resize(): void {
    const rect = this.canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    this.width = rect.width;
    this.height = rect.height;
    this.canvas.width = Math.round(rect.width * dpr);
    this.canvas.height = Math.round(rect.height * dpr);
  }

  /**
   * Draw a frame. `version` changes whenever `state`'s content does: the grid and elements are
   * kept in an offscreen layer and redrawn only when the version, camera, size or drafts
   * change, so cursor-only frames (remote users at 20 Hz) cost a blit, not a scene.
   */
  draw(state: BoardState, version: number, cam: Camera, overlay: Overlay): void {
    const ctx = this.ctx;
    const dpr = window.devicePixelRatio || 1;
    const draftIds = overlay.drafts.map((d) => d.id).join(",");
    const key = `${version}|${cam.x}|${cam.y}|${cam.zoom}|${this.canvas.width}x${this.canvas.height}|${draftIds}`;
    if (key !== this.sceneKey) {
      this.sceneKey = key;
      this.drawScene(state, cam, new Set(overlay.drafts.map((d) => d.id)));
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(this.scene, 0, 0);
    ctx.setTransform(dpr * cam.zoom, 0, 0, dpr * cam.zoom, -cam.x * dpr * cam.zoom, -cam.y * dpr * cam.zoom);
    for (const el of overlay.drafts) drawElement(ctx, el);
    this.drawSelection(state, cam, overlay);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    for (const c of overlay.cursors) this.drawCursor(cam, c);
  }

  private drawScene(state: BoardState, cam: Camera, skip: ReadonlySet<string>): void {
    const dpr = window.devicePixelRatio || 1;
    if (this.scene.width !== this.canvas.width || this.scene.height !== this.canvas.height) {
      this.scene.width = this.canvas.width;
      this.scene.height = this.canvas.height;
    }
    const ctx = this.sceneCtx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, this.scene.width, this.scene.height);
    ctx.setTransform(dpr * cam.zoom, 0, 0, dpr * cam.zoom, -cam.x * dpr * cam.zoom, -cam.y * dpr * cam.zoom);
    this.drawGrid(ctx, cam);
    const [vx0, vy0] = cam.toWorld(0, 0);
    const [vx1, vy1] = cam.toWorld(this.width, this.height);
    for (const el of state.elements.values()) {
      if (skip.has(el.id)) continue;
      // Cull what is off screen: big boards cost what is visible, not what exists.
      const b = boundsOf(el);
      if (b.maxX < vx0 || b.minX > vx1 || b.maxY < vy0 || b.minY > vy1) continue;
      drawElement(ctx, el);
    }
  }

  private drawGrid(ctx: CanvasRenderingContext2D, cam: Camera): void {
    if (cam.zoom < 0.3) return;
    const [x0, y0] = cam.toWorld(0, 0);
    const [x1, y1] = cam.toWorld(this.width, this.height);
    ctx.fillStyle = "#d9dce1";
    const r = 1 / cam.zoom;
    for (let x = Math.floor(x0 / GRID_STEP) * GRID_STEP; x < x1; x += GRID_STEP) {
      for (let y = Math.floor(y0 / GRID_STEP) * GRID_STEP; y < y1; y += GRID_STEP) {
        ctx.fillRect(x - r, y - r, 2 * r, 2 * r);
      }
    }
  }

  private drawSelection(state: BoardState, cam: Camera, overlay: Overlay): void {
    const ctx = this.ctx;
    ctx.lineWidth = 1.5 / cam.zoom;
    ctx.strokeStyle = "#2f6feb";
    ctx.setLineDash([6 / cam.zoom, 4 / cam.zoom]);
    for (const id of overlay.selection) {
      const el = state.elements.get(id);
      if (!el) continue;
      const b = boundsOf(el);
      ctx.strokeRect(b.minX, b.minY, b.maxX - b.minX, b.maxY - b.minY);
    }
    const m = overlay.marquee;
    if (m) {
      ctx.fillStyle = "rgba(47, 111, 235, 0.08)";
      ctx.fillRect(m.minX, m.minY, m.maxX - m.minX, m.maxY - m.minY);
      ctx.strokeRect(m.minX, m.minY, m.maxX - m.minX, m.maxY - m.minY);
    }
    ctx.setLineDash([]);
  }

  private drawCursor(cam: Camera, c: RemoteCursor): void {
    const ctx = this.ctx;
    const [x, y] = cam.toScreen(c.x, c.y);
    ctx.fillStyle = c.color;
    ctx.beginPath();
    ctx.moveTo(x, y);
    ctx.lineTo(x + 3, y + 16);
    ctx.lineTo(x + 7, y + 11);
    ctx.lineTo(x + 14, y + 11);
    ctx.closePath();
    ctx.fill();
    ctx.font = "12px system-ui, sans-serif";
    ctx.textBaseline = "top";
    const w = ctx.measureText(c.name).width + 10;
    ctx.fillRect(x + 12, y + 16, w, 18);
    ctx.fillStyle = "#ffffff";
    ctx.fillText(c.name, x + 17, y + 19);
  }
}
