/**
 * A uniform grid over world space: which ids have a box touching a region, without looking at
 * every element. Boxes are bucketed into square cells; an id covering more than BIG_CELLS cells
 * (a huge shape) is kept in one list every query returns instead of in thousands of cells.
 */
import type { Box } from "../ops";

/** Cell side in world units: about one element's size at 100 %. */
export const CELL = 256;
/** An id spanning more cells than this is "big" (checked by every query). */
const BIG_CELLS = 256;
/** Cell coordinates are offset into the positive range before packing two into one number. */
const OFFSET = 2 ** 20;
const SPAN = 2 ** 21;

const cellOf = (v: number) => Math.floor(v / CELL);
const keyOf = (ix: number, iy: number) => (ix + OFFSET) * SPAN + (iy + OFFSET);

export class GridIndex {
  private readonly cells = new Map<number, Set<string>>();
  private readonly boxes = new Map<string, Box>();
  private readonly big = new Set<string>();

  get size(): number {
    return this.boxes.size;
  }

  clear(): void {
    this.cells.clear();
    this.boxes.clear();
    this.big.clear();
  }

  /** Insert `id` with `box`, or move it there if present. */
  set(id: string, box: Box): void {
    if (this.boxes.has(id)) this.delete(id);
    this.boxes.set(id, box);
    const [x0, y0, x1, y1] = [cellOf(box.minX), cellOf(box.minY), cellOf(box.maxX), cellOf(box.maxY)];
    if ((x1 - x0 + 1) * (y1 - y0 + 1) > BIG_CELLS) {
      this.big.add(id);
      return;
    }
    for (let ix = x0; ix <= x1; ix++) {
      for (let iy = y0; iy <= y1; iy++) {
        const key = keyOf(ix, iy);
        let cell = this.cells.get(key);
        if (!cell) this.cells.set(key, (cell = new Set()));
        cell.add(id);
      }
    }
  }

  delete(id: string): void {
    const box = this.boxes.get(id);
    if (!box) return;
    this.boxes.delete(id);
    if (this.big.delete(id)) return;
    for (let ix = cellOf(box.minX); ix <= cellOf(box.maxX); ix++) {
      for (let iy = cellOf(box.minY); iy <= cellOf(box.maxY); iy++) {
        const key = keyOf(ix, iy);
        const cell = this.cells.get(key);
        if (!cell) continue;
        cell.delete(id);
        if (cell.size === 0) this.cells.delete(key);
      }
    }
  }

  /** Ids whose box intersects `box` (edges touching count), each once, in no particular order. */
  search(box: Box): string[] {
    const found = new Set<string>();
    const take = (id: string) => {
      const b = this.boxes.get(id)!;
      if (b.minX <= box.maxX && box.minX <= b.maxX && b.minY <= box.maxY && box.minY <= b.maxY) found.add(id);
    };
    for (const id of this.big) take(id);
    const [x0, y0, x1, y1] = [cellOf(box.minX), cellOf(box.minY), cellOf(box.maxX), cellOf(box.maxY)];
    if ((x1 - x0 + 1) * (y1 - y0 + 1) > this.cells.size) {
      // A region larger than the occupied cells: walking those is cheaper than the region's.
      for (const [key, cell] of this.cells) {
        const ix = Math.floor(key / SPAN) - OFFSET;
        const iy = (key % SPAN) - OFFSET;
        if (ix >= x0 && ix <= x1 && iy >= y0 && iy <= y1) for (const id of cell) take(id);
      }
    } else {
      for (let ix = x0; ix <= x1; ix++) {
        for (let iy = y0; iy <= y1; iy++) {
          const cell = this.cells.get(keyOf(ix, iy));
          if (cell) for (const id of cell) take(id);
        }
      }
    }
    return [...found];
  }
}
