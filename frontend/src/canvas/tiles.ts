/**
 * Settled elements rendered into tiles: square bitmaps of TILE device pixels per zoom level,
 * drawn once and then copied to the screen on every pan and frame until an op invalidates
 * them. A level is one scale (device pixels per world unit); tile (i, j) of a level covers
 * level pixels [i·TILE, (i+1)·TILE), so a camera at an integer pixel offset shows tiles
 * pixel-exactly as a full draw would paint them.
 *
 * Rendering a tile is resumable: it draws its elements in z-order a chunk at a time within a
 * frame's time budget, so a big invalidation never blocks input.
 */
import type { Box } from "../ops";
import type { Element } from "../protocol";
import { drawElement, drawGrid, visibleAt, type Context2D } from "./draw";
import type { SceneIndex } from "./scene";

/** Tile side in device pixels. */
export const TILE = 512;
/** Levels kept: the current one and the last few (what a zoom gesture scales meanwhile). */
const MAX_LEVELS = 3;
/** Tiles kept over all levels (1 MiB each); the least recently shown go first. */
const MAX_TILES = 48;
/** Device pixels of anti-aliasing an element may paint past its ink bounds. */
const FRINGE = 2;
/** Elements drawn between time checks. */
const CHUNK = 48;
const BACKGROUND = "#ffffff";

export interface Surface {
  canvas: HTMLCanvasElement | OffscreenCanvas;
  ctx: Context2D;
}

export interface Tile {
  readonly i: number;
  readonly j: number;
  readonly surface: Surface;
  /** All of its elements are drawn. */
  done: boolean;
  /** The elements being drawn (null: not started), and how many are drawn. */
  queue: Element[] | null;
  next: number;
  /** The highest z drawn into it: an element above it can be painted over the tile. */
  maxZ: number;
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

  constructor(private readonly makeSurface: () => Surface) {}

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
      const surface = this.spare.pop() ?? this.makeSurface();
      tile = { i, j, surface, done: false, queue: null, next: 0, maxZ: -1, version: 0, used: this.frame };
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
    }
  }

  /**
   * `el` (z-order `z`) joined the settled scene: draw it over each finished tile it touches
   * that holds nothing above it, and redraw the others.
   */
  paintOver(el: Element, z: number, box: Box): void {
    for (const level of this.levels) {
      const [i0, j0, i1, j1] = level.range(box);
      for (const tile of level.tiles.values()) {
        if (tile.i < i0 || tile.i > i1 || tile.j < j0 || tile.j > j1) continue;
        if (!tile.done || z <= tile.maxZ) {
          restart(tile);
        } else if (visibleAt(el, level.scale)) {
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
    const s = level.scale;
    const ctx = tile.surface.ctx;
    if (tile.queue === null) {
      const box = level.box(tile.i, tile.j);
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.globalAlpha = 1;
      ctx.fillStyle = BACKGROUND;
      ctx.fillRect(0, 0, TILE, TILE);
      ctx.setTransform(s, 0, 0, s, -tile.i * TILE, -tile.j * TILE);
      drawGrid(ctx, box, level.zoom);
      const fringe = FRINGE / s;
      const reach = { minX: box.minX - fringe, minY: box.minY - fringe, maxX: box.maxX + fringe, maxY: box.maxY + fringe };
      tile.queue = scene.query(reach).filter((el) => !skip.has(el.id) && visibleAt(el, s));
      tile.next = 0;
      tile.maxZ = -1;
    }
    ctx.setTransform(s, 0, 0, s, -tile.i * TILE, -tile.j * TILE);
    const queue = tile.queue;
    while (tile.next < queue.length) {
      const end = Math.min(queue.length, tile.next + CHUNK);
      for (; tile.next < end; tile.next++) {
        const el = queue[tile.next];
        drawElement(ctx, el, s);
        tile.maxZ = Math.max(tile.maxZ, scene.zOf(el.id));
      }
      // Canvas draws are recorded and rasterised later: reading a pixel makes them happen
      // now, so the time check below sees what the chunk really cost.
      ctx.getImageData(0, 0, 1, 1);
      if (performance.now() >= deadline) break;
    }
    if (tile.next < queue.length) return false;
    tile.done = true;
    tile.queue = null;
    tile.version++;
    return true;
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
  }
}

function restart(tile: Tile): void {
  tile.done = false;
  tile.queue = null;
  tile.next = 0;
}
