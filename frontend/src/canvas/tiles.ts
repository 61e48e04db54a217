/**
 * Settled elements rendered into tiles: square bitmaps of TILE device pixels per zoom level,
 * drawn once and then copied to the screen on every pan and frame until an op invalidates
 * them. A level is one scale (device pixels per world unit); tile (i, j) of a level covers
 * level pixels [i·TILE, (i+1)·TILE), so a camera at an integer pixel offset shows tiles
 * pixel-exactly as a full draw would paint them.
 *
 * Rendering a tile is resumable: it draws its elements in z-order a chunk at a time within a
 * frame's time budget, so a big invalidation never blocks input.
 *
 * A view with nothing to show (the board just loaded, no other level covering it) is first drawn
 * whole at the coarse level of detail (coarse.ts), in one go, and then drawn again at full detail
 * over the next frames: the coarse tiles are shown meanwhile and swapped when the block is done.
 */
import type { Box } from "../ops";
import type { Element } from "../protocol";
import type { CoarseRaster } from "./coarse";
import { drawElement, drawGrid, GRID_MIN_ZOOM, GRID_STEP, type Context2D } from "./draw";
import { framesFirst } from "./shapes";
import type { SceneIndex } from "./scene";

/** Tile side in device pixels. */
export const TILE = 512;
/** Levels kept: the current one and the last few (what a zoom gesture scales meanwhile). */
const MAX_LEVELS = 3;
/** Tiles kept over all levels (1 MiB each); the least recently shown go first. */
const MAX_TILES = 48;
/** Device pixels of anti-aliasing an element may paint past its ink bounds. */
const FRINGE = 2;
/** Fewest tiles not yet started that are drawn as one block, and most tiles in a block. */
const BLOCK_MIN = 4;
const BLOCK_MAX = 48;
/** Elements drawn between time checks. */
const CHUNK = 48;
const BACKGROUND = "#ffffff";
/** Device pixels per world unit the coarse picture is drawn at, at most. */
const COARSE_SCALE = 0.5;

/**
 * The coarse rasteriser, a chunk of its own: the eagerly loaded code has a size budget. It is
 * asked for as this module loads, so it is there long before a board's state is; until then a
 * blank view is drawn at full detail in budgeted chunks, as if there were no coarse level.
 */
let Raster: typeof CoarseRaster | null = null;
void import("./coarse").then((m) => (Raster = m.CoarseRaster));

export interface Surface {
  canvas: HTMLCanvasElement | OffscreenCanvas;
  ctx: Context2D;
}

/** How far a resumable drawing has got. */
interface Progress {
  /** The elements being drawn, bottom first (null: not started), and how many are drawn. */
  queue: Element[] | null;
  next: number;
  /** The highest z drawn: an element above it can be painted over. */
  maxZ: number;
}

/** A rectangle of tiles drawn in one pass (each element once) and then cut into its tiles. */
interface Block extends Progress {
  level: Level;
  i0: number;
  j0: number;
  cols: number;
  rows: number;
  surface: Surface;
  /** Drawn at the coarse level of detail, in one go, at `factor` of the level's resolution. */
  coarse: boolean;
  factor: number;
  /** Started for a view the screen had nothing of (coarse or not). */
  blank: boolean;
}

export interface Tile extends Progress {
  readonly i: number;
  readonly j: number;
  readonly surface: Surface;
  /** All of its elements are drawn. */
  done: boolean;
  /** Drawn at the coarse level of detail only: shown, and to be drawn again at full detail. */
  coarse: boolean;
  /** Bumped whenever its pixels change. */
  version: number;
  /** The frame it was last shown in (least recently shown tiles are evicted first). */
  used: number;
}

export class Level {
  readonly tiles = new Map<string, Tile>();
  constructor(
    readonly scale: number,
    readonly zoom: number,
  ) {}

  /** World box of tile (i, j). */
  box(i: number, j: number): Box {
    const s = this.scale;
    return { minX: (i * TILE) / s, minY: (j * TILE) / s, maxX: ((i + 1) * TILE) / s, maxY: ((j + 1) * TILE) / s };
  }

  /** Tile index ranges [i0, i1] x [j0, j1] touching world box `b` or its anti-aliased fringe. */
  range(b: Box): [number, number, number, number] {
    const s = this.scale;
    const at = (v: number, pad: number) => Math.floor((v * s + pad) / TILE);
    return [at(b.minX, -FRINGE), at(b.minY, -FRINGE), at(b.maxX, FRINGE), at(b.maxY, FRINGE)];
  }
}

export const tileKey = (i: number, j: number) => `${i},${j}`;

export class TileCache {
  /** Most recently used first. */
  private levels: Level[] = [];
  private spare: Surface[] = [];
  private frame = 0;
  private block: Block | null = null;
  /** Coarse blocks drawn so far (the browser tests check when they happen). */
  coarseBlocks = 0;
  /** Blocks drawn for a blank view so far, coarse or not (coarse once the chunk has arrived). */
  blankBlocks = 0;

  /** `makeSurface(w, h)`: an opaque canvas of w x h device pixels and its context. */
  constructor(private readonly makeSurface: (width: number, height: number) => Surface) {}

  /** The level for `scale`, made current (scales equal to a part in 10^9 share a level). */
  level(scale: number, zoom: number): Level {
    const level = this.find(scale) ?? new Level(scale, zoom);
    this.levels = [level, ...this.levels.filter((l) => l !== level)];
    for (const old of this.levels.splice(MAX_LEVELS)) this.drop(old);
    return level;
  }

  /** The level for `scale` if there is one, without making it current. */
  find(scale: number): Level | undefined {
    return this.levels.find((l) => Math.abs(l.scale / scale - 1) < 1e-9);
  }

  /** Levels other than `except` that have tiles, the farthest from `scale` first. */
  fallbacks(scale: number, except?: Level): Level[] {
    const far = (l: Level) => Math.abs(Math.log(l.scale / scale));
    return this.levels.filter((l) => l !== except && l.tiles.size > 0).sort((a, b) => far(b) - far(a));
  }

  tile(level: Level, i: number, j: number): Tile {
    const key = tileKey(i, j);
    let tile = level.tiles.get(key);
    if (!tile) {
      const surface = this.spare.pop() ?? this.makeSurface(TILE, TILE);
      tile = { i, j, surface, done: false, coarse: false, queue: null, next: 0, maxZ: -1, version: 0, used: this.frame };
      level.tiles.set(key, tile);
    }
    return tile;
  }

  /** Start a new frame: tiles marked shown this frame are not evicted. */
  beginFrame(): number {
    return ++this.frame;
  }

  /** Forget every tile (the z-order or the whole board changed). */
  clear(): void {
    for (const level of this.levels) this.drop(level);
  }

  /** Tiles touching `box` must be drawn again. */
  invalidate(box: Box): void {
    for (const level of this.levels) {
      const [i0, j0, i1, j1] = level.range(box);
      for (const tile of level.tiles.values()) {
        if (tile.i >= i0 && tile.i <= i1 && tile.j >= j0 && tile.j <= j1) restart(tile);
      }
      this.restartBlock(level, i0, j0, i1, j1);
    }
  }

  /**
   * `el` (z-order `z`) joined the settled scene: draw it over each finished tile it touches
   * that holds nothing above it, and redraw the others.
   */
  paintOver(el: Element, z: number, box: Box): void {
    for (const level of this.levels) {
      const [i0, j0, i1, j1] = level.range(box);
      this.restartBlock(level, i0, j0, i1, j1);
      for (const tile of level.tiles.values()) {
        if (tile.i < i0 || tile.i > i1 || tile.j < j0 || tile.j > j1) continue;
        // A frame is painted beneath everything: the tile is drawn again, not painted over.
        if (!tile.done || z <= tile.maxZ || el.type === "frame") {
          restart(tile);
        } else {
          const ctx = tile.surface.ctx;
          ctx.setTransform(level.scale, 0, 0, level.scale, -tile.i * TILE, -tile.j * TILE);
          drawElement(ctx, el, level.scale);
          tile.maxZ = z;
          tile.version++;
        }
      }
    }
  }

  /**
   * Draw more of `tile` until `deadline` (performance.now()); returns whether it is finished.
   * `skip` holds the ids drawn on the live layer instead.
   */
  render(level: Level, tile: Tile, scene: SceneIndex, skip: ReadonlySet<string>, deadline: number): boolean {
    if (tile.done) return true;
    if (!drawSome(level, tile.surface.ctx, [tile.i, tile.j, 1, 1], tile, scene, skip, deadline)) return false;
    tile.done = true;
    tile.version++;
    return true;
  }

  /**
   * When several of the visible `slots` are not started (a first draw, a settled zoom, a
   * restore), draw them as one block until `deadline`: an element across a tile edge is then
   * drawn once, not once per tile. Finished, the block is cut into its tiles. With `blank` (the
   * screen has nothing of this view to show) and every slot not started, the block is drawn at
   * once at the coarse level of detail, and then again at full detail.
   */
  renderBlock(level: Level, slots: [number, number][], scene: SceneIndex, skip: ReadonlySet<string>, deadline: number, blank = false): void {
    if (this.block && this.block.level !== level) this.endBlock();
    if (!this.block) {
      const fresh = slots.filter(([i, j]) => {
        const tile = level.tiles.get(tileKey(i, j));
        return !tile || (!tile.done && tile.queue === null);
      });
      const coarse = blank && fresh.length === slots.length && Raster !== null;
      // Coarse tiles are drawn again as one block however few they are: a tile drawn on its
      // own would lose its coarse picture while it is redrawn.
      const refine = slots.filter(([i, j]) => level.tiles.get(tileKey(i, j))?.coarse);
      const todo = fresh.length >= BLOCK_MIN || coarse ? fresh : refine.length > 0 ? [...fresh, ...refine] : [];
      if (todo.length === 0) return;
      const [is, js] = [todo.map(([i]) => i), todo.map(([, j]) => j)];
      const [i0, j0] = [Math.min(...is), Math.min(...js)];
      const [cols, rows] = [Math.max(...is) - i0 + 1, Math.max(...js) - j0 + 1];
      if (cols * rows > BLOCK_MAX) return;
      const factor = coarse ? Math.min(1, COARSE_SCALE / level.scale) : 1;
      const surface = this.makeSurface(Math.ceil(cols * TILE * factor), Math.ceil(rows * TILE * factor));
      const wholeView = blank && fresh.length === slots.length;
      this.block = { level, i0, j0, cols, rows, surface, queue: null, next: 0, maxZ: -1, coarse, factor, blank: wholeView };
    }
    const b = this.block;
    const end = b.coarse ? Infinity : deadline;
    if (!drawSome(level, b.surface.ctx, [b.i0, b.j0, b.cols, b.rows], b, scene, skip, end, b.coarse, b.factor)) return;
    const cut = TILE * b.factor;
    if (b.coarse) this.coarseBlocks++;
    if (b.blank) this.blankBlocks++;
    for (let i = b.i0; i < b.i0 + b.cols; i++) {
      for (let j = b.j0; j < b.j0 + b.rows; j++) {
        const tile = this.tile(level, i, j);
        const ctx = tile.surface.ctx;
        ctx.setTransform(1, 0, 0, 1, 0, 0);
        // The coarse picture's pixels are blown up as they are: smoothing them costs more and
        // only blurs what is replaced within a second anyway.
        ctx.imageSmoothingEnabled = !b.coarse;
        ctx.drawImage(b.surface.canvas, (i - b.i0) * cut, (j - b.j0) * cut, cut, cut, 0, 0, TILE, TILE);
        ctx.imageSmoothingEnabled = true;
        Object.assign(tile, { done: true, coarse: b.coarse, queue: null, next: 0, maxZ: b.maxZ });
        tile.version++;
      }
    }
    this.endBlock();
  }

  /** Whether tile (i, j) of `level` is being drawn as part of a block. */
  blocked(level: Level, i: number, j: number): boolean {
    const b = this.block;
    return !!b && b.level === level && i >= b.i0 && i < b.i0 + b.cols && j >= b.j0 && j < b.j0 + b.rows;
  }

  /** Evict the least recently shown tiles beyond MAX_TILES (never one shown this frame). */
  trim(): void {
    const all: [Level, Tile][] = [];
    for (const level of this.levels) for (const tile of level.tiles.values()) all.push([level, tile]);
    if (all.length <= MAX_TILES) return;
    all.sort((a, b) => a[1].used - b[1].used);
    for (const [level, tile] of all.slice(0, all.length - MAX_TILES)) {
      if (tile.used === this.frame) break;
      level.tiles.delete(tileKey(tile.i, tile.j));
      this.spare.push(tile.surface);
    }
    this.spare.length = Math.min(this.spare.length, 4);
  }

  /** Mark `tile` shown in the current frame. */
  touch(tile: Tile): void {
    tile.used = this.frame;
  }

  private drop(level: Level): void {
    for (const tile of level.tiles.values()) if (this.spare.length < 4) this.spare.push(tile.surface);
    level.tiles.clear();
    if (this.block?.level === level) this.endBlock();
  }

  private endBlock(): void {
    // Its backing store is large (a screenful and more): give it back now, not at the next GC.
    if (this.block) this.block.surface.canvas.width = 0;
    this.block = null;
  }

  private restartBlock(level: Level, i0: number, j0: number, i1: number, j1: number): void {
    const b = this.block;
    if (!b || b.level !== level) return;
    if (i1 >= b.i0 && i0 < b.i0 + b.cols && j1 >= b.j0 && j0 < b.j0 + b.rows) restart(b);
  }
}

function restart(p: Progress & { done?: boolean; coarse?: boolean }): void {
  p.done = false;
  if (p.coarse) p.coarse = false;
  p.queue = null;
  p.next = 0;
}

/**
 * Draw more of the tiles [i0, i0 + cols) x [j0, j0 + rows) of `level` into `ctx` (their
 * top-left at its origin, at `factor` of the level's resolution) until `deadline`, coarsely or
 * not; returns whether everything is drawn.
 */
function drawSome(
  level: Level,
  ctx: Context2D,
  [i0, j0, cols, rows]: [number, number, number, number],
  p: Progress,
  scene: SceneIndex,
  skip: ReadonlySet<string>,
  deadline: number,
  coarse = false,
  factor = 1,
): boolean {
  const s = level.scale * factor;
  const side = TILE * factor;
  if (coarse) {
    const raster = new Raster!(ctx.canvas.width, ctx.canvas.height, s, -i0 * side, -j0 * side, BACKGROUND);
    if (level.zoom >= GRID_MIN_ZOOM) raster.grid(GRID_STEP);
    p.maxZ = -1;
    // Everything, cut by the raster: cheaper than finding what lies in the block.
    for (const el of framesFirst(scene.all().filter((el) => !skip.has(el.id)))) {
      raster.element(el);
      p.maxZ = Math.max(p.maxZ, scene.zOf(el.id));
    }
    ctx.putImageData(new ImageData(raster.data, raster.width, raster.height), 0, 0);
    p.queue = null;
    return true;
  }
  if (p.queue === null) {
    const box = level.box(i0, j0);
    box.maxX = ((i0 + cols) * side) / s;
    box.maxY = ((j0 + rows) * side) / s;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.globalAlpha = 1;
    ctx.fillStyle = BACKGROUND;
    ctx.fillRect(0, 0, cols * side, rows * side);
    ctx.setTransform(s, 0, 0, s, -i0 * side, -j0 * side);
    drawGrid(ctx, box, level.zoom);
    const fringe = FRINGE / s;
    const reach = { minX: box.minX - fringe, minY: box.minY - fringe, maxX: box.maxX + fringe, maxY: box.maxY + fringe };
    p.queue = framesFirst(scene.query(reach).filter((el) => !skip.has(el.id)));
    p.next = 0;
    p.maxZ = -1;
  }
  ctx.setTransform(s, 0, 0, s, -i0 * side, -j0 * side);
  const queue = p.queue;
  while (p.next < queue.length) {
    const end = Math.min(queue.length, p.next + CHUNK);
    for (; p.next < end; p.next++) {
      const el = queue[p.next];
      drawElement(ctx, el, s);
      p.maxZ = Math.max(p.maxZ, scene.zOf(el.id));
    }
    if (deadline === Infinity) continue;
    // Canvas draws are recorded and rasterised later: reading a pixel makes them happen
    // now, so the time check below sees what the chunk really cost.
    ctx.getImageData(0, 0, 1, 1);
    if (performance.now() >= deadline) break;
  }
  if (p.next < queue.length) return false;
  p.queue = null;
  return true;
}
