/**
 * The renderer: a board state, camera and overlay in, pixels out, at a cost that follows what
 * changed rather than what exists.
 *
 * Settled elements live in tiles (tiles.ts) copied to the base canvas; everything that moves
 * from frame to frame (the stroke being drawn, drafts, strokes other users are still drawing,
 * selection, marquee, cursors) is drawn on the live canvas above it (layers.ts). Each frame the
 * scene index (scene.ts) says which elements changed; their regions are redrawn, and an element
 * that joins on top of everything is painted over the tiles instead of redrawing them.
 */
import { boundsOf, type BoardState, type Box } from "../ops";
import type { Element } from "../protocol";
import type { Camera } from "./camera";
import { drawElement, drawGrid, inkBounds, type Context2D } from "./draw";
import { LaserLayer, type LaserTrails } from "./laser";
import { framesFirst } from "./shapes";
import { BACKGROUND, BaseLayer, LiveLayer, worldBox, worldTransform, type LiveContent, type RemoteCursor, type View } from "./layers";
import { SceneIndex, type SceneChanges, type TouchedSince } from "./scene";
import { TileCache, type Surface } from "./tiles";

export type { RemoteCursor } from "./layers";
export { HIGHLIGHTER_MAX_OPACITY } from "./draw";

/** What the active tool shows over the board (canvas/tool.ts Tool); null while previewing. */
export interface OverlayTool {
  marquee(): Box | null;
  /** Elements being drawn locally, drawn over (and instead of) same-id elements. */
  drafts(): Element[];
  /** Its own overlay; when it has one it draws the selection too (turned outlines, handles). */
  decorate?: LiveContent["decorate"];
}

export interface Overlay {
  selection: ReadonlySet<string>;
  tool: OverlayTool | null;
  cursors: readonly RemoteCursor[];
  /** Laser trails, drawn on their own layer above everything. */
  laser?: LaserTrails;
}

/** A stroke another user is still drawing stays on the live layer until still this long (ms). */
const HOT_MS = 400;
/**
 * Time a frame may spend drawing tiles (ms): while the camera moves or something is being
 * drawn; when nothing has moved for IDLE_AFTER_MS; and while nothing at all is shown yet.
 */
const FRAME_BUDGET_MS = 8;
const IDLE_BUDGET_MS = 32;
const BLANK_BUDGET_MS = 100;
const IDLE_AFTER_MS = 200;
/** More changed regions than this in one frame: drop every tile rather than find each. */
const MAX_DIRTY = 2000;
/**
 * More elements than this joining in one frame (a board loading, a restore, a big paste) are
 * drawn by redrawing the tiles under them, in budgeted chunks, not painted over each finished
 * tile at once: that is unbounded work in one frame, and an element across tile edges is drawn
 * once per tile.
 */
const MAX_PAINT_OVER = 64;

function makeSurface(width: number, height: number): Surface {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d", { alpha: false }) as Surface["ctx"] | null;
  if (!ctx) throw new Error("2D canvas is not available in this browser");
  return { canvas, ctx };
}

/** A stroke that only gained points (an `app`): someone is drawing it. */
function grew(old: Element, el: Element): boolean {
  return el.type === "stroke" && old.type === "stroke" && (el.p?.length ?? 0) > (old.p?.length ?? 0);
}

export class Renderer {
  readonly scene = new SceneIndex(inkBounds);
  private readonly tiles = new TileCache(makeSurface);
  private readonly base: BaseLayer;
  private readonly live: LiveLayer;
  private readonly liveCanvas: HTMLCanvasElement;
  private readonly laser: LaserLayer;
  /** Ids drawn on the live layer (so left out of the tiles) as of the last frame. */
  private liveIds = new Set<string>();
  /** Remote strokes still growing, and when they last changed. */
  private readonly hot = new Map<string, number>();
  private view: View | null = null;
  private lastScale = 0;
  /** When the camera last moved, and where to (scale and device offset). */
  private movedAt = 0;
  private lastPlace = "";
  private pending = true;
  private unsettled = true;
  private everShown = false;
  width = 0;
  height = 0;

  constructor(private readonly canvas: HTMLCanvasElement) {
    const ctx = canvas.getContext("2d", { alpha: false });
    this.liveCanvas = document.createElement("canvas");
    this.liveCanvas.id = "board-live";
    this.liveCanvas.setAttribute("aria-hidden", "true");
    canvas.insertAdjacentElement("afterend", this.liveCanvas);
    const liveCtx = this.liveCanvas.getContext("2d");
    if (!ctx || !liveCtx) throw new Error("2D canvas is not available in this browser");
    this.base = new BaseLayer(ctx);
    this.live = new LiveLayer(liveCtx);
    this.laser = new LaserLayer(this.liveCanvas);
  }

  /** Match the backing stores to the CSS size and device pixel ratio. */
  resize(): void {
    const rect = this.canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    this.width = rect.width;
    this.height = rect.height;
    const w = Math.round(rect.width * dpr);
    const h = Math.round(rect.height * dpr);
    if (w === this.canvas.width && h === this.canvas.height) return;
    // A new size clears both canvases: everything is copied and drawn again.
    for (const c of [this.canvas, this.liveCanvas]) {
      c.width = w;
      c.height = h;
    }
    this.base.forget();
    this.live.forget();
  }

  /**
   * Whether the picture is not yet at rest: a visible tile still to draw, a zoom to settle, or
   * a remote stroke still on the live layer (the bench and tests wait for rest).
   */
  renderPending(): boolean {
    return this.pending || this.unsettled || this.hot.size > 0;
  }

  /**
   * Whether every visible element is on screen, at the coarse level of detail or the full one
   * (what a first draw waits for; renderPending also waits for full detail).
   */
  renderShown(): boolean {
    return !this.base.missing;
  }

  /** How many times a blank view was drawn at the coarse level of detail first. */
  coarseDraws(): number {
    return this.tiles.coarseBlocks;
  }

  /** How many times a blank view was drawn, at the coarse level of detail first or not. */
  blankDraws(): number {
    return this.tiles.blankBlocks;
  }

  /**
   * Draw a frame. `version` changes whenever `state`'s content does (`touched`: what changed
   * in place, scene.ts). Returns whether another frame is wanted: tiles still to draw, a zoom
   * to settle, live strokes to settle.
   */
  draw(state: BoardState, version: number, cam: Camera, overlay: Overlay, touched?: TouchedSince): boolean {
    const start = performance.now();
    const dpr = window.devicePixelRatio || 1;
    const scale = this.tiles.find(cam.zoom * dpr)?.scale ?? cam.zoom * dpr;
    const view: View = {
      scale,
      zoom: cam.zoom,
      dpr,
      width: this.canvas.width,
      height: this.canvas.height,
      // Whole device pixels: tiles are then copied 1:1, exactly as a full draw would paint.
      x0: Math.round(cam.x * scale),
      y0: Math.round(cam.y * scale),
    };
    this.scene.sync(state, version, touched);
    const tool = overlay.tool;
    const drafts = new Map((tool?.drafts() ?? []).map((d) => [d.id, d]));
    const decorate = tool?.decorate ? (ctx: Context2D, zoom: number) => tool.decorate!(ctx, zoom) : null;
    this.apply(this.scene.takeChanges(), drafts, start);
    const settled = scale === this.lastScale;
    this.lastScale = scale;
    this.unsettled = !settled;
    const place = `${scale}|${view.x0}|${view.y0}`;
    if (place !== this.lastPlace) [this.lastPlace, this.movedAt] = [place, start];
    const busy = start - this.movedAt < IDLE_AFTER_MS || drafts.size > 0;
    const deadline = start + (!this.everShown ? BLANK_BUDGET_MS : busy ? FRAME_BUDGET_MS : IDLE_BUDGET_MS);
    this.pending = this.base.compose(view, this.tiles, this.scene, this.liveIds, deadline, settled);
    this.everShown ||= !this.pending;
    this.view = view;
    const hot = [...this.hot.keys()].filter((id) => !drafts.has(id)).map((id) => this.scene.get(id)!);
    this.live.draw(view, {
      elements: [...hot, ...drafts.values()],
      selected: decorate ? [] : [...overlay.selection].flatMap((id) => {
        const el = state.elements.get(id);
        return el ? [boundsOf(el)] : [];
      }),
      marquee: tool?.marquee() ?? null,
      decorate,
      cursors: overlay.cursors,
      toScreen: (x, y) => cam.toScreen(x, y),
    });
    const fading = overlay.laser ? this.laser.draw(overlay.laser, (x, y) => cam.toScreen(x, y), Date.now()) : false;
    return this.pending || !settled || this.hot.size > 0 || fading;
  }

  /**
   * `state` drawn from scratch at the current view, without the scene index or tiles: at rest
   * (nothing on the live layer) the base layer must show exactly this. The browser tests
   * compare the two.
   */
  fullDraw(state: BoardState): HTMLCanvasElement | null {
    const v = this.view;
    if (!v) return null;
    const c = document.createElement("canvas");
    c.width = v.width;
    c.height = v.height;
    const ctx = c.getContext("2d", { alpha: false })!;
    ctx.fillStyle = BACKGROUND;
    ctx.fillRect(0, 0, v.width, v.height);
    worldTransform(ctx, v);
    const box = worldBox(v);
    drawGrid(ctx, box, v.zoom);
    for (const el of framesFirst([...state.elements.values()])) {
      const b = inkBounds(el);
      if (b.maxX < box.minX || b.minX > box.maxX || b.maxY < box.minY || b.minY > box.maxY) continue;
      drawElement(ctx, el, v.scale);
    }
    return c;
  }

  /** Turn the scene's changes into redrawn regions and painted-over elements. */
  private apply(changes: SceneChanges, drafts: ReadonlyMap<string, Element>, now: number): void {
    const { removed, changed, added } = changes;
    for (const el of added) if (el.type === "stroke" && (el.p?.length ?? 0) <= 2) this.hot.set(el.id, now);
    for (const { old, el } of changed) {
      if (this.hot.has(el.id) || (grew(old, el) && this.onTop(el))) this.hot.set(el.id, now);
    }
    for (const old of removed) this.hot.delete(old.id);
    for (const [id, t] of this.hot) if (now - t > HOT_MS) this.hot.delete(id);
    const live = new Set([...drafts.keys(), ...this.hot.keys()]);
    const was = this.liveIds;
    const dirty: Box[] = [];
    const joined: Element[] = [];
    const seen = new Set<string>();
    // Tiles hold exactly the elements that are not live: an element entering the live layer
    // is taken out of them, one leaving it is put in.
    for (const old of removed) {
      seen.add(old.id);
      if (!was.has(old.id)) dirty.push(inkBounds(old));
    }
    for (const { old, el } of changed) {
      seen.add(el.id);
      if (!was.has(el.id)) dirty.push(inkBounds(old));
      if (!live.has(el.id)) {
        if (was.has(el.id)) joined.push(el);
        else dirty.push(inkBounds(el));
      }
    }
    for (const el of added) {
      seen.add(el.id);
      if (!live.has(el.id)) joined.push(el);
    }
    for (const id of live) {
      const el = this.scene.get(id);
      if (el && !was.has(id) && !seen.has(id)) dirty.push(inkBounds(el));
    }
    for (const id of was) {
      const el = this.scene.get(id);
      if (el && !live.has(id) && !seen.has(id)) joined.push(el);
    }
    this.liveIds = live;
    if (dirty.length > MAX_DIRTY) this.tiles.clear();
    else for (const box of dirty) this.tiles.invalidate(box);
    if (joined.length > MAX_DIRTY) {
      // A board loading (or the like): its bounds are not needed for the first picture.
      this.tiles.clear();
      return;
    }
    if (joined.length > MAX_PAINT_OVER) {
      const area = { minX: Infinity, minY: Infinity, maxX: -Infinity, maxY: -Infinity };
      for (const el of joined) {
        const b = inkBounds(el);
        area.minX = Math.min(area.minX, b.minX);
        area.minY = Math.min(area.minY, b.minY);
        area.maxX = Math.max(area.maxX, b.maxX);
        area.maxY = Math.max(area.maxY, b.maxY);
      }
      this.tiles.invalidate(area);
      return;
    }
    joined.sort((a, b) => this.scene.zOf(a.id) - this.scene.zOf(b.id));
    for (const el of joined) this.tiles.paintOver(el, this.scene.zOf(el.id), inkBounds(el));
  }

  /** Draw world box `box` again from the scene (a picture it shows has arrived). */
  invalidateArea(box: Box): void {
    this.tiles.invalidate(box);
  }

  /** Whether nothing lies above `el` where it is. */
  private onTop(el: Element): boolean {
    const here = this.scene.query(inkBounds(el));
    return here[here.length - 1] === el;
  }
}
