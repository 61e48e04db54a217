/**
 * The two canvases on screen. The base layer shows the settled scene, copied from tiles; the
 * live layer on top holds what changes from frame to frame (strokes being drawn, drafts,
 * selection, marquee, remote cursors), so drawing a stroke repaints only its own pixels.
 */
import type { Box } from "../ops";
import type { Element } from "../protocol";
import { drawElement, inkBounds, plainOutline, type Context2D } from "./draw";
import { outlineChange } from "./ink-diff";
import type { SceneIndex } from "./scene";
import { TILE, tileKey, type Level, type Tile, type TileCache } from "./tiles";

/** The camera in device pixels: scale, and the view's top-left in level pixels (integers). */
export interface View {
  scale: number;
  zoom: number;
  dpr: number;
  x0: number;
  y0: number;
  width: number;
  height: number;
}

export const BACKGROUND = "#ffffff";

/** The world box a view shows. */
export function worldBox(v: View): Box {
  return { minX: v.x0 / v.scale, minY: v.y0 / v.scale, maxX: (v.x0 + v.width) / v.scale, maxY: (v.y0 + v.height) / v.scale };
}

export function worldTransform(ctx: Context2D, v: View): void {
  ctx.setTransform(v.scale, 0, 0, v.scale, -v.x0, -v.y0);
}

export class BaseLayer {
  /** The version of each tile as last copied to the screen, for the view in `shownView`. */
  private readonly shown = new Map<Tile, number>();
  private shownView = "";
  /** A visible tile was missing after the last compose (coarse tiles count as shown). */
  missing = true;

  constructor(private readonly ctx: CanvasRenderingContext2D) {}

  /** The canvas was cleared (resized): copy everything again. */
  forget(): void {
    this.shownView = "";
  }

  /**
   * Bring the screen up to date with `view`, rendering missing tiles until `deadline` when
   * `render` is set (it is not while a zoom gesture is still changing the scale: tiles of a
   * passing scale would be thrown away). Returns whether a visible tile is still missing or
   * only coarse.
   */
  compose(view: View, cache: TileCache, scene: SceneIndex, skip: ReadonlySet<string>, deadline: number, render: boolean): boolean {
    const ctx = this.ctx;
    cache.beginFrame();
    const level = render ? cache.level(view.scale, view.zoom) : cache.find(view.scale);
    const viewKey = `${view.scale}|${view.x0}|${view.y0}|${view.width}|${view.height}`;
    const visible = slots(view);
    if (viewKey !== this.shownView) {
      this.shownView = viewKey;
      this.shown.clear();
      // Finished tiles cover the view by themselves; anything else is first filled in.
      if (!level || visible.some(([i, j]) => !level.tiles.get(tileKey(i, j))?.done)) {
        this.drawFallback(view, cache, level);
      }
    }
    if (!level) {
      this.missing = true;
      return true;
    }
    if (render) {
      // Nothing of the board to show at all (a first draw, everything invalidated): not a zoom,
      // which scales what another level has while this one is drawn chunk by chunk.
      const blank =
        visible.every(([i, j]) => !level.tiles.get(tileKey(i, j))?.done) &&
        !cache.fallbacks(view.scale, level).some((l) => [...l.tiles.values()].some((t) => t.done));
      cache.renderBlock(level, visible, scene, skip, deadline, blank);
    }
    let missing = false;
    let coarse = false;
    for (const [i, j] of visible) {
      const tile = render ? cache.tile(level, i, j) : level.tiles.get(tileKey(i, j));
      if (!tile) {
        missing = true;
        continue;
      }
      cache.touch(tile);
      if (render && !tile.done && !cache.blocked(level, i, j) && performance.now() < deadline) {
        cache.render(level, tile, scene, skip, deadline);
      }
      if (!tile.done) {
        missing = true;
        continue;
      }
      coarse ||= tile.coarse;
      if (this.shown.get(tile) === tile.version) continue;
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.drawImage(tile.surface.canvas, i * TILE - view.x0, j * TILE - view.y0);
      this.shown.set(tile, tile.version);
    }
    cache.trim();
    this.missing = missing;
    return missing || coarse;
  }

  /**
   * Until the view's own tiles are ready, scale what other levels have over its area: only the
   * nearest level when it covers the view (a zoom gesture's frames), else background first.
   */
  private drawFallback(view: View, cache: TileCache, current: Level | undefined): void {
    const ctx = this.ctx;
    const area = worldBox(view);
    const levels = cache.fallbacks(view.scale, current);
    const nearest = levels[levels.length - 1];
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.globalAlpha = 1;
    const covered = nearest !== undefined && covers(nearest, area);
    if (!covered) {
      ctx.fillStyle = BACKGROUND;
      ctx.fillRect(0, 0, view.width, view.height);
    }
    ctx.imageSmoothingEnabled = false;
    for (const level of covered ? [nearest] : levels) {
      const k = view.scale / level.scale;
      const [i0, j0, i1, j1] = level.range(area);
      for (const tile of level.tiles.values()) {
        if (!tile.done || tile.i < i0 || tile.i > i1 || tile.j < j0 || tile.j > j1) continue;
        // Whole pixels on both edges: seams between scaled tiles would show as faint lines.
        const x = Math.floor(tile.i * TILE * k - view.x0);
        const y = Math.floor(tile.j * TILE * k - view.y0);
        const size = Math.ceil(TILE * k) + 1;
        ctx.drawImage(tile.surface.canvas, x, y, size, size);
      }
    }
    ctx.imageSmoothingEnabled = true;
  }
}

/** Whether `level` has every tile of world box `area` finished. */
function covers(level: Level, area: Box): boolean {
  const at = (v: number) => Math.floor((v * level.scale) / TILE);
  for (let i = at(area.minX); i <= at(area.maxX); i++) {
    for (let j = at(area.minY); j <= at(area.maxY); j++) if (!level.tiles.get(tileKey(i, j))?.done) return false;
  }
  return true;
}

/** The tile slots a view shows, nearest its centre first. */
function slots(view: View): [number, number][] {
  const out: [number, number][] = [];
  const [i0, j0] = [Math.floor(view.x0 / TILE), Math.floor(view.y0 / TILE)];
  const [i1, j1] = [Math.floor((view.x0 + view.width - 1) / TILE), Math.floor((view.y0 + view.height - 1) / TILE)];
  for (let i = i0; i <= i1; i++) for (let j = j0; j <= j1; j++) out.push([i, j]);
  const cx = (view.x0 + view.width / 2) / TILE - 0.5;
  const cy = (view.y0 + view.height / 2) / TILE - 0.5;
  return out.sort((a, b) => Math.hypot(a[0] - cx, a[1] - cy) - Math.hypot(b[0] - cx, b[1] - cy));
}

export interface RemoteCursor {
  name: string;
  color: string;
  x: number;
  y: number;
}

export interface LiveContent {
  /** Elements drawn over the settled scene: drafts and strokes still being drawn. */
  elements: readonly Element[];
  /** Boxes drawn as selection outlines (world units). */
  selected: readonly Box[];
  marquee: Box | null;
  /** The active tool's own overlay (handles, guides), drawn in world units; the box drawn over. */
  decorate?: ((ctx: Context2D, zoom: number) => Box | null) | null;
  cursors: readonly RemoteCursor[];
  /** Where each cursor is on screen (CSS pixels). */
  toScreen(x: number, y: number): [number, number];
}

/** Device-pixel rectangle [x, y, w, h] of what was drawn. */
type Rect = [number, number, number, number];

/** An element as the live layer last drew it. */
interface Ink {
  el: Element;
  rect: Rect;
  /** Its outline polygon, when it is a stroke drawn as one (draw.ts plainOutline). */
  outline: number[][] | null;
}

/** Device pixels of anti-aliasing around what an element draws. */
const INK_PAD = 2;

/** The device rectangle of world box `b` in `view`, `pad` pixels wider each way. */
function deviceRect(view: View, b: Box, pad: number): Rect {
  const x = Math.floor(b.minX * view.scale - view.x0 - pad);
  const y = Math.floor(b.minY * view.scale - view.y0 - pad);
  return [x, y, Math.ceil(b.maxX * view.scale - view.x0 + pad) - x, Math.ceil(b.maxY * view.scale - view.y0 + pad) - y];
}

export class LiveLayer {
  /** What the last frame drew: only that is cleared (a full clear would repaint the page). */
  private drawn: Rect | null = null;
  /** The elements the last frame drew, by id, for the view `inkView`. */
  private ink = new Map<string, Ink>();
  private inkView = "";
  /** Whether the last frame drew anything besides elements (selection, cursors...). */
  private decorated = false;

  constructor(private readonly ctx: CanvasRenderingContext2D) {}

  /** The canvas was cleared (resized). */
  forget(): void {
    this.drawn = null;
    this.inkView = "";
  }

  draw(view: View, live: LiveContent): void {
    const viewKey = `${view.scale}|${view.x0}|${view.y0}|${view.width}|${view.height}`;
    const decorated = live.selected.length > 0 || live.marquee !== null || !!live.decorate || live.cursors.length > 0;
    const sameView = viewKey === this.inkView;
    const inks = live.elements.map((el) => this.inkOf(el, view, sameView));
    const same = sameView && !decorated && !this.decorated;
    this.inkView = viewKey;
    this.decorated = decorated;
    if (same) this.redrawChanged(view, inks);
    else this.redrawAll(view, live, inks);
    this.ink = new Map(inks.map((ink) => [ink.el.id, ink]));
  }

  /** `el` as this frame draws it (the last frame's record for the same object and view). */
  private inkOf(el: Element, view: View, sameView: boolean): Ink {
    const was = this.ink.get(el.id);
    if (was?.el === el && sameView) return was;
    return { el, rect: deviceRect(view, inkBounds(el), INK_PAD), outline: plainOutline(el, view.scale) };
  }

  /**
   * Only elements are shown, in the same view as the last frame: clear and redraw (clipped)
   * just the area that changed. A stroke being drawn changes near its end only, so a frame
   * costs its new points, not the whole stroke.
   */
  private redrawChanged(view: View, inks: Ink[]): void {
    let dirty: Rect | null = null;
    const add = (r: Rect) => (dirty = dirty ? union(dirty, r) : r);
    const now = new Set<string>();
    for (const ink of inks) {
      now.add(ink.el.id);
      const was = this.ink.get(ink.el.id);
      if (was === ink) continue;
      if (!was) {
        add(ink.rect);
        continue;
      }
      const change = was.outline && ink.outline ? outlineChange(was.outline, ink.outline) : undefined;
      if (change === undefined) add(union(was.rect, ink.rect));
      else if (change) add(deviceRect(view, change, INK_PAD));
    }
    for (const [id, was] of this.ink) if (!now.has(id)) add(was.rect);
    this.drawn = inks.length > 0 ? inks.map((i) => i.rect).reduce(union) : null;
    const d = dirty as Rect | null;
    if (!d) return;
    const ctx = this.ctx;
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(...d);
    ctx.beginPath();
    ctx.rect(...d);
    ctx.clip();
    worldTransform(ctx, view);
    for (const ink of inks) if (overlaps(ink.rect, d)) drawElement(ctx, ink.el, view.scale);
    ctx.restore();
  }

  private redrawAll(view: View, live: LiveContent, inks: Ink[]): void {
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    if (this.drawn) ctx.clearRect(...this.drawn);
    let area: Rect | null = null;
    const grow = (b: Box, pad: number) => {
      const r = deviceRect(view, b, pad);
      area = area ? union(area, r) : r;
    };
    worldTransform(ctx, view);
    for (const ink of inks) {
      drawElement(ctx, ink.el, view.scale);
      area = area ? union(area, ink.rect) : ink.rect;
    }
    const z = view.zoom;
    ctx.lineWidth = 1.5 / z;
    ctx.strokeStyle = "#2f6feb";
    ctx.setLineDash([6 / z, 4 / z]);
    for (const b of live.selected) {
      ctx.strokeRect(b.minX, b.minY, b.maxX - b.minX, b.maxY - b.minY);
      grow(b, 2 * view.dpr);
    }
    const m = live.marquee;
    if (m) {
      ctx.fillStyle = "rgba(47, 111, 235, 0.08)";
      ctx.fillRect(m.minX, m.minY, m.maxX - m.minX, m.maxY - m.minY);
      ctx.strokeRect(m.minX, m.minY, m.maxX - m.minX, m.maxY - m.minY);
      grow(m, 2 * view.dpr);
    }
    ctx.setLineDash([]);
    const decorated = live.decorate?.(ctx, z);
    if (decorated) grow(decorated, 2 * view.dpr);
    ctx.setTransform(view.dpr, 0, 0, view.dpr, 0, 0);
    for (const c of live.cursors) {
      const [x, y] = live.toScreen(c.x, c.y);
      const w = drawCursor(ctx, x, y, c);
      const d = view.dpr;
      const r: Rect = [Math.floor(x * d) - 2, Math.floor(y * d) - 2, Math.ceil((12 + w) * d) + 4, Math.ceil(34 * d) + 4];
      area = area ? union(area, r) : r;
    }
    this.drawn = area;
  }
}

function overlaps(a: Rect, b: Rect): boolean {
  return a[0] < b[0] + b[2] && b[0] < a[0] + a[2] && a[1] < b[1] + b[3] && b[1] < a[1] + a[3];
}

function union(a: Rect, b: Rect): Rect {
  const x = Math.min(a[0], b[0]);
  const y = Math.min(a[1], b[1]);
  return [x, y, Math.max(a[0] + a[2], b[0] + b[2]) - x, Math.max(a[1] + a[3], b[1] + b[3]) - y];
}

/** A remote user's arrow and name label at screen point (x, y); returns the label's width. */
function drawCursor(ctx: CanvasRenderingContext2D, x: number, y: number, c: RemoteCursor): number {
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
  return w;
}
