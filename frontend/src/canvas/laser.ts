/**
 * The laser pointer: while it is down, a user's cursor frames carry `l: 1` (protocol §2.1) and
 * every viewer, the user included, sees a red trail behind it that fades out within
 * LASER_FADE_MS. Nothing of it is stored or undoable; it lives on its own canvas above the
 * others, cleared and redrawn only while a trail is visible.
 */
import type { Tool, ToolHost, PointerSample } from "./tool";

/** How long (ms) a trail point stays visible, fading linearly to nothing. */
export const LASER_FADE_MS = 1000;
/** Trail width (screen px) at its newest point; it thins with age. */
const LASER_WIDTH_PX = 5;
const LASER_COLOR = "255, 45, 45";
/** A trail keeps at most this many points per user (a long flourish drops its oldest first). */
const MAX_POINTS = 512;

interface Dot {
  x: number;
  y: number;
  t: number;
  /** The first point after the pointer went down: no line joins it to the one before. */
  start: boolean;
}

/** One piece of a visible trail: world coordinates and its opacity now (0..1]. */
export interface TrailSegment {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  alpha: number;
}

/** Every user's laser trail (keyed by client id; our own under any id the caller picks). */
export class LaserTrails {
  private readonly trails = new Map<string, Dot[]>();
  private readonly down = new Set<string>();

  /** `source`'s laser is at (x, y) at time `now` (ms): the trail grows. */
  add(source: string, x: number, y: number, now: number): void {
    let dots = this.trails.get(source);
    if (!dots) this.trails.set(source, (dots = []));
    dots.push({ x, y, t: now, start: !this.down.has(source) });
    if (dots.length > MAX_POINTS) dots.splice(0, dots.length - MAX_POINTS);
    this.down.add(source);
  }

  /** `source`'s laser went up: its trail fades, and the next point starts a new one. */
  lift(source: string): void {
    this.down.delete(source);
  }

  /** Whether anything is visible at `now` (so frames must keep coming). */
  active(now: number): boolean {
    for (const dots of this.trails.values()) if (dots.length > 0 && now - dots[dots.length - 1].t < LASER_FADE_MS) return true;
    return false;
  }

  /**
   * The segments visible at `now`, each as opaque as its newer end is young; a lone point
   * (pointer down without moving) is a zero-length segment, drawn as a dot. Forgets what faded.
   */
  visible(now: number): TrailSegment[] {
    const out: TrailSegment[] = [];
    for (const [source, dots] of this.trails) {
      const keep = dots.findIndex((d) => now - d.t < LASER_FADE_MS);
      if (keep < 0) {
        this.trails.delete(source);
        continue;
      }
      if (keep > 0) dots.splice(0, keep);
      for (let k = 0; k < dots.length; k++) {
        const d = dots[k];
        const alpha = 1 - (now - d.t) / LASER_FADE_MS;
        const from = d.start || k === 0 ? d : dots[k - 1];
        const alone = d.start && (k + 1 >= dots.length || dots[k + 1].start);
        if (from !== d || alone) out.push({ x0: from.x, y0: from.y, x1: d.x, y1: d.y, alpha });
      }
    }
    return out;
  }
}

/** The canvas the trails are drawn on, above the board's own (pointer events pass through). */
export class LaserLayer {
  private readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private dirty = false;

  /** Placed right after `below` (the live layer's canvas), so above it. */
  constructor(below: HTMLCanvasElement) {
    this.canvas = document.createElement("canvas");
    this.canvas.id = "board-laser";
    this.canvas.setAttribute("aria-hidden", "true");
    below.insertAdjacentElement("afterend", this.canvas);
    const ctx = this.canvas.getContext("2d");
    if (!ctx) throw new Error("2D canvas is not available in this browser");
    this.ctx = ctx;
  }

  /** Draw `trails` at `now`; returns whether a trail is still fading (another frame wanted). */
  draw(trails: LaserTrails, toScreen: (x: number, y: number) => [number, number], now: number): boolean {
    const active = trails.active(now);
    if (!active && !this.dirty) return false;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.round(this.canvas.clientWidth * dpr);
    const h = Math.round(this.canvas.clientHeight * dpr);
    if (this.canvas.width !== w || this.canvas.height !== h) [this.canvas.width, this.canvas.height] = [w, h];
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.lineCap = "round";
    for (const s of trails.visible(now)) {
      const [x0, y0] = toScreen(s.x0, s.y0);
      const [x1, y1] = toScreen(s.x1, s.y1);
      ctx.strokeStyle = `rgba(${LASER_COLOR}, ${s.alpha.toFixed(3)})`;
      ctx.lineWidth = LASER_WIDTH_PX * (0.4 + 0.6 * s.alpha);
      ctx.beginPath();
      ctx.moveTo(x0, y0);
      ctx.lineTo(x1, y1);
      ctx.stroke();
    }
    this.dirty = active;
    return active;
  }
}

/** The laser tool (K): points, draws nothing on the board. */
export class LaserTool implements Tool {
  private last: PointerSample | null = null;

  constructor(private readonly host: ToolHost) {}

  down(p: PointerSample): void {
    this.last = p;
    this.host.laser(p.x, p.y, true);
  }

  move(samples: readonly PointerSample[]): void {
    if (!this.last) return;
    for (const p of samples) this.host.laser(p.x, p.y, true);
    this.last = samples[samples.length - 1] ?? this.last;
  }

  up(): void {
    if (this.last) this.host.laser(this.last.x, this.last.y, false);
    this.last = null;
  }

  tick(): void {}

  drafts(): [] {
    return [];
  }

  marquee(): null {
    return null;
  }
}
