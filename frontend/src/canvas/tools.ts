/**
 * Drawing tools: pointer gestures in world coordinates become ops.
 *
 * The pen sends an `add` at pointer-down and then `app` ops at most every STROKE_FLUSH_MS, so
 * other users watch the stroke grow; points not yet sent are drawn locally as a draft so the
 * author sees no added latency. Shapes are drafts until pointer-up, then one `add`.
 */
import type { Box } from "../ops";
import type { Element, ElementType } from "../protocol";
import type { NewOp } from "../sync";
import { addedEntry } from "../undo";
import { bindEnds, bindTarget, highlight } from "./attach";
import { EraserTool, HandTool } from "./edit-tools";
import { snapVector } from "./geometry";
import { FRAME_NAME, NoteTool } from "./note-tool";
import { TextTool } from "./text-tool";
import { LaserTool } from "./laser";
import { hitSlop, newElementId, type PointerSample, type Tool, type ToolHost, type ToolName } from "./tool";
import { loadTransform, selectTool } from "./transform-loader";

export type { PointerSample, Tool, ToolHost, ToolName } from "./tool";

/** Batch stroke points for at most this long (ms) before sending an `app` op (~30 Hz). */
export const STROKE_FLUSH_MS = 33;
const pressureOf = (p: PointerSample) => Math.round((p.pressure ?? 0.5) * 100);

class StrokeTool implements Tool {
  private id: string | null = null;
  private lastX = 0;
  private lastY = 0;
  private points = 0;
  private withPressure = false;
  private buf: number[] = [];
  private prBuf: number[] = [];
  private lastFlush = 0;
  private readonly ids: string[] = [];

  constructor(
    private readonly host: ToolHost,
    private readonly name: ToolName,
  ) {}

  down(p: PointerSample): void {
    this.ids.length = 0;
    this.begin(p);
  }

  private begin(p: PointerSample): void {
    const x = Math.round(p.x);
    const y = Math.round(p.y);
    this.id = newElementId();
    this.ids.push(this.id);
    this.withPressure = p.pressure !== null;
    const el: Element = { id: this.id, type: "stroke", x, y, style: this.host.style(this.name), p: [0, 0] };
    if (this.withPressure) el.pr = [pressureOf(p)];
    this.host.submit([{ k: "add", el }]);
    this.lastX = x;
    this.lastY = y;
    this.points = 1;
    this.lastFlush = this.host.now();
  }

  move(samples: readonly PointerSample[]): void {
    if (this.id === null) return;
    for (const p of samples) {
      const x = Math.round(p.x);
      const y = Math.round(p.y);
      if (x === this.lastX && y === this.lastY) continue;
      if (this.points >= this.host.limits().max_points_per_stroke) {
        // The server caps points per stroke: continue seamlessly in a new element.
        this.flush();
        this.begin({ ...p, x: this.lastX, y: this.lastY });
      }
      this.buf.push(x - this.lastX, y - this.lastY);
      if (this.withPressure) this.prBuf.push(pressureOf(p));
      this.lastX = x;
      this.lastY = y;
      this.points += 1;
    }
    this.tick();
  }

  tick(): void {
    if (this.buf.length > 0 && this.host.now() - this.lastFlush >= STROKE_FLUSH_MS) this.flush();
  }

  private flush(): void {
    this.lastFlush = this.host.now();
    if (this.id === null || this.buf.length === 0) return;
    const perOp = 2 * this.host.limits().max_points_per_op;
    const ops: NewOp[] = [];
    for (let k = 0; k < this.buf.length; k += perOp) {
      const op: NewOp = { k: "app", id: this.id, p: this.buf.slice(k, k + perOp) };
      if (this.withPressure) op.pr = this.prBuf.slice(k / 2, (k + perOp) / 2);
      ops.push(op);
    }
    this.buf = [];
    this.prBuf = [];
    this.host.submit(ops);
  }

  up(): void {
    if (this.id === null) return;
    this.flush();
    this.host.record(addedEntry([...this.ids]));
    this.id = null;
  }

  cancel(): void {
    if (this.id === null) return;
    this.buf = [];
    this.prBuf = [];
    this.host.submit([{ k: "del", ids: [...this.ids] }]);
    this.id = null;
  }

  drafts(): Element[] {
    // The whole stroke stays a draft until pointer-up, sent points too: the renderer keeps
    // drafts on the live layer, and a stroke hopping between layers would redraw its tiles.
    if (this.id === null) return [];
    const el = this.host.view().elements.get(this.id);
    if (!el) return [];
    if (this.buf.length === 0) return [el];
    const draft: Element = { ...el, p: [...(el.p ?? []), ...this.buf] };
    if (el.pr) draft.pr = [...el.pr, ...this.prBuf];
    return [draft];
  }

  marquee(): Box | null {
    return null;
  }
}

/** Shapes drawn from a box: Shift makes it square, and it is normalised to w, h >= 0. */
const BOXES = new Set<ElementType>(["rect", "ellipse", "diamond", "frame"]);

class ShapeTool implements Tool {
  private start: PointerSample | null = null;
  private draft: Element | null = null;
  /** The last sample, and the box a line's end there would bind to (attach.ts). */
  private last: PointerSample | null = null;
  private over: Element | null = null;

  constructor(
    private readonly host: ToolHost,
    private readonly type: ElementType,
    private readonly name: ToolName,
  ) {}

  down(p: PointerSample): void {
    this.start = p;
    this.draft = null;
  }

  move(samples: readonly PointerSample[]): void {
    const s = this.start;
    const p = samples[samples.length - 1];
    if (!s || !p) return;
    let w = Math.round(p.x - s.x);
    let h = Math.round(p.y - s.y);
    const box = BOXES.has(this.type);
    if (p.shift && box) {
      const side = Math.max(Math.abs(w), Math.abs(h));
      w = Math.sign(w || 1) * side;
      h = Math.sign(h || 1) * side;
    } else if (p.shift) {
      [w, h] = snapVector(w, h); // a line or arrow at a multiple of 15°
    }
    let x = Math.round(s.x);
    let y = Math.round(s.y);
    if (box) {
      // Normalise so w, h >= 0: simpler hit tests and exports.
      if (w < 0) [x, w] = [x + w, -w];
      if (h < 0) [y, h] = [y + h, -h];
    }
    const style = this.host.style(this.name);
    this.draft = { id: this.draft?.id ?? newElementId(), type: this.type, x, y, w, h, style };
    if (this.type === "frame") this.draft.name = FRAME_NAME;
    this.last = p;
    const linked = this.type === "line" || this.type === "arrow";
    this.over = linked ? bindTarget(this.host.scene(), p.x, p.y, hitSlop(p, this.host.zoom())) : null;
  }

  up(): void {
    const el = this.draft && this.last ? bindEnds(this.host, this.draft, this.last) : null;
    this.start = null;
    this.draft = null;
    this.over = null;
    if (!el || Math.abs(el.w ?? 0) + Math.abs(el.h ?? 0) < 2) return;
    this.host.submit([{ k: "add", el }]);
    this.host.record(addedEntry([el.id]));
  }

  cancel(): void {
    this.start = null;
    this.draft = null;
    this.over = null;
  }

  tick(): void {}

  drafts(): Element[] {
    if (!this.draft) return [];
    return this.over ? [this.draft, highlight(this.over)] : [this.draft];
  }

  marquee(): Box | null {
    return null;
  }
}

export function makeTool(name: ToolName, host: ToolHost): Tool {
  void loadTransform(); // before anything is selected
  switch (name) {
    case "pen":
    case "highlighter":
      return new StrokeTool(host, name);
    case "eraser":
      return new EraserTool(host);
    case "rect":
    case "ellipse":
    case "line":
    case "arrow":
    case "diamond":
    case "frame":
      return new ShapeTool(host, name, name);
    case "note":
      return new NoteTool(host);
    case "text":
      return new TextTool(host);
    case "select":
      return selectTool(host);
    case "hand":
      return new HandTool(host);
    case "laser":
      return new LaserTool(host);
  }
}
