/**
 * The camera of the infinite canvas: which world point sits at the screen's top-left, and zoom.
 */
import type { Box } from "../ops";
import type { Viewport } from "../protocol";

/** Zoom limits: beyond these, world coordinates lose meaning at integer quantisation. */
export const MIN_ZOOM = 0.05;
export const MAX_ZOOM = 20;

export class Camera {
  x = 0;
  y = 0;
  zoom = 1;

  toWorld(sx: number, sy: number): [number, number] {
    return [sx / this.zoom + this.x, sy / this.zoom + this.y];
  }

  toScreen(wx: number, wy: number): [number, number] {
    return [(wx - this.x) * this.zoom, (wy - this.y) * this.zoom];
  }

  /** Pan by a screen-space distance. */
  pan(dsx: number, dsy: number): void {
    this.x -= dsx / this.zoom;
    this.y -= dsy / this.zoom;
  }

  /** Zoom by `factor` keeping the world point under screen point (sx, sy) fixed. */
  zoomAt(sx: number, sy: number, factor: number): void {
    const [wx, wy] = this.toWorld(sx, sy);
    this.zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this.zoom * factor));
    this.x = wx - sx / this.zoom;
    this.y = wy - sy / this.zoom;
  }

  /** Show `box` (world units) centred in a screen of width x height with a margin (px). */
  fit(box: Box, width: number, height: number, margin = 48, maxZoom = 4): void {
    const bw = Math.max(1, box.maxX - box.minX);
    const bh = Math.max(1, box.maxY - box.minY);
    const zoom = Math.min((width - 2 * margin) / bw, (height - 2 * margin) / bh);
    this.zoom = Math.min(maxZoom, Math.max(MIN_ZOOM, zoom));
    this.x = (box.minX + box.maxX) / 2 - width / 2 / this.zoom;
    this.y = (box.minY + box.maxY) / 2 - height / 2 / this.zoom;
  }

  /** The visible world rectangle as the protocol's integer viewport [x, y, w, h]. */
  viewport(width: number, height: number): Viewport {
    return [
      Math.round(this.x),
      Math.round(this.y),
      Math.round(width / this.zoom),
      Math.round(height / this.zoom),
    ];
  }
}
