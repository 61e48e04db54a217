/**
 * Drawing tools: pointer gestures in world coordinates become ops.
 *
 * The pen sends an `add` at pointer-down and then `app` ops at most every STROKE_FLUSH_MS, so
 * other users watch the stroke grow; points not yet sent are drawn locally as a draft so the
 * author sees no added latency. Shapes are drafts until pointer-up, then one `add`.
 */
import type { BoardState, Box } from "../ops";
import type { Element, ElementType, Limits, Style } from "../protocol";
import type { NewOp } from "../sync";
import { addedEntry, deleteOps, deletedEntry, movedEntry, type UndoEntry } from "../undo";
import { inMarquee, topmostAt } from "./hit";

/** Batch stroke points for at most this long (ms) before sending an `app` op (~30 Hz). */
export const STROKE_FLUSH_MS = 33;
/** Hit-test slack in screen pixels (converted to world units with the zoom). */
export const HIT_SLOP_PX = 6;

export type ToolName =
  | "pen"
  | "highlighter"
  | "eraser"
  | "rect"
  | "ellipse"
  | "line"
  | "arrow"
  | "text"
  | "select"
  | "hand";

export interface PointerSample {
  x: number;
  y: number;
  /** 0..1 from a stylus, null when the device reports no real pressure (mouse, touch). */
  pressure: number | null;
  shift: boolean;
}

/** What a tool may do to the editor. */
export interface ToolHost {
  view(): BoardState;
  submit(ops: NewOp[]): void;
  record(entry: UndoEntry): void;
  style(tool: ToolName): Style;
  textSize(): number;
  limits(): Limits;
  zoom(): number;
  selection: Set<string>;
  pan(dsx: number, dsy: number): void;
  editText(x: number, y: number, done: (text: string) => void): void;
  now(): number;
}

export interface Tool {
  down(p: PointerSample): void;
  move(samples: readonly PointerSample[]): void;
  up(): void;
  /** Called every animation frame: time-based flushing. */
  tick(): void;
  drafts(): Element[];
  marquee(): Box | null;
}

const ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A fresh element id (12 chars, ~71 bits: unique within a board in practice). */
export function newElementId(): string {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => ID_CHARS[b % ID_CHARS.length]).join("");
}

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

  drafts(): Element[] {
    if (this.id === null || this.buf.length === 0) return [];
    const el = this.host.view().elements.get(this.id);
    if (!el) return [];
    const draft: Element = { ...el, p: [...(el.p ?? []), ...this.buf] };
    if (el.pr) draft.pr = [...el.pr, ...this.prBuf];
    return [draft];
  }

  marquee(): Box | null {
    return null;
  }
}

class ShapeTool implements Tool {
  private start: PointerSample | null = null;
  private draft: Element | null = null;

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
    if (p.shift && (this.type === "rect" || this.type === "ellipse")) {
      const side = Math.max(Math.abs(w), Math.abs(h));
      w = Math.sign(w || 1) * side;
      h = Math.sign(h || 1) * side;
    }
    let x = Math.round(s.x);
    let y = Math.round(s.y);
    if (this.type === "rect" || this.type === "ellipse") {
      // Normalise so w, h >= 0: simpler hit tests and exports.
      if (w < 0) [x, w] = [x + w, -w];
      if (h < 0) [y, h] = [y + h, -h];
    }
    const style = this.host.style(this.name);
    this.draft = { id: this.draft?.id ?? newElementId(), type: this.type, x, y, w, h, style };
  }

  up(): void {
    const el = this.draft;
    this.start = null;
    this.draft = null;
    if (!el || Math.abs(el.w ?? 0) + Math.abs(el.h ?? 0) < 2) return;
    this.host.submit([{ k: "add", el }]);
    this.host.record(addedEntry([el.id]));
  }

  tick(): void {}

  drafts(): Element[] {
    return this.draft ? [this.draft] : [];
  }

  marquee(): Box | null {
    return null;
  }
}

class EraserTool implements Tool {
  private erased: Element[] = [];
  private active = false;

  constructor(private readonly host: ToolHost) {}

  down(p: PointerSample): void {
    this.active = true;
    this.erased = [];
    this.move([p]);
  }

  move(samples: readonly PointerSample[]): void {
    if (!this.active) return;
    const view = this.host.view();
    const slop = HIT_SLOP_PX / this.host.zoom();
    const hit = new Map<string, Element>();
    for (const p of samples) {
      const el = topmostAt(view, p.x, p.y, slop);
      if (el) hit.set(el.id, el);
    }
    if (hit.size === 0) return;
    this.erased.push(...hit.values());
    this.host.submit(deleteOps([...hit.keys()]));
  }

  up(): void {
    if (this.erased.length > 0) this.host.record(deletedEntry(this.erased));
    this.active = false;
    this.erased = [];
  }

  tick(): void {}
  drafts(): Element[] {
    return [];
  }
  marquee(): Box | null {
    return null;
  }
}

class SelectTool implements Tool {
  private origin: PointerSample | null = null;
  private mode: "move" | "marquee" | null = null;
  private dx = 0;
  private dy = 0;
  private box: Box | null = null;

  constructor(private readonly host: ToolHost) {}

  down(p: PointerSample): void {
    const sel = this.host.selection;
    const el = topmostAt(this.host.view(), p.x, p.y, HIT_SLOP_PX / this.host.zoom());
    this.origin = p;
    this.dx = 0;
    this.dy = 0;
    if (el) {
      if (!sel.has(el.id)) {
        if (!p.shift) sel.clear();
        sel.add(el.id);
      }
      this.mode = "move";
    } else {
      if (!p.shift) sel.clear();
      this.mode = "marquee";
      this.box = { minX: p.x, minY: p.y, maxX: p.x, maxY: p.y };
    }
  }

  move(samples: readonly PointerSample[]): void {
    const o = this.origin;
    const p = samples[samples.length - 1];
    if (!o || !p) return;
    if (this.mode === "move") {
      this.dx = Math.round(p.x - o.x);
      this.dy = Math.round(p.y - o.y);
    } else if (this.mode === "marquee") {
      this.box = {
        minX: Math.min(o.x, p.x),
        minY: Math.min(o.y, p.y),
        maxX: Math.max(o.x, p.x),
        maxY: Math.max(o.y, p.y),
      };
    }
  }

  up(): void {
    const ids = [...this.host.selection];
    if (this.mode === "move" && (this.dx !== 0 || this.dy !== 0) && ids.length > 0) {
      this.host.submit([{ k: "mov", ids, dx: this.dx, dy: this.dy }]);
      this.host.record(movedEntry(ids, this.dx, this.dy));
    } else if (this.mode === "marquee" && this.box) {
      for (const id of inMarquee(this.host.view(), this.box)) this.host.selection.add(id);
    }
    this.mode = null;
    this.origin = null;
    this.box = null;
    this.dx = 0;
    this.dy = 0;
  }

  tick(): void {}

  drafts(): Element[] {
    if (this.mode !== "move" || (this.dx === 0 && this.dy === 0)) return [];
    const view = this.host.view();
    return [...this.host.selection]
      .map((id) => view.elements.get(id))
      .filter((el): el is Element => !!el)
      .map((el) => ({ ...el, x: el.x + this.dx, y: el.y + this.dy }));
  }

  marquee(): Box | null {
    return this.box;
  }
}

class TextTool implements Tool {
  constructor(private readonly host: ToolHost) {}

  down(p: PointerSample): void {
    const x = Math.round(p.x);
    const y = Math.round(p.y);
    this.host.editText(x, y, (text) => {
      if (!text.trim()) return;
      const el: Element = {
        id: newElementId(),
        type: "text",
        x,
        y,
        text: text.slice(0, 10_000),
        size: this.host.textSize(),
        style: this.host.style("text"),
      };
      this.host.submit([{ k: "add", el }]);
      this.host.record(addedEntry([el.id]));
    });
  }
  move(): void {}
  up(): void {}
  tick(): void {}
  drafts(): Element[] {
    return [];
  }
  marquee(): Box | null {
    return null;
  }
}

class HandTool implements Tool {
  private last: PointerSample | null = null;
  constructor(private readonly host: ToolHost) {}
  down(p: PointerSample): void {
    this.last = p;
  }
  move(samples: readonly PointerSample[]): void {
    const p = samples[samples.length - 1];
    if (!this.last || !p) return;
    const z = this.host.zoom();
    // Pan so the grabbed world point is back under the pointer; it stays the anchor, since
    // samples arrive in world coordinates of the camera as it is after each pan.
    this.host.pan((p.x - this.last.x) * z, (p.y - this.last.y) * z);
  }
  up(): void {
    this.last = null;
  }
  tick(): void {}
  drafts(): Element[] {
    return [];
  }
  marquee(): Box | null {
    return null;
  }
}

export function makeTool(name: ToolName, host: ToolHost): Tool {
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
      return new ShapeTool(host, name, name);
    case "text":
      return new TextTool(host);
    case "select":
      return new SelectTool(host);
    case "hand":
      return new HandTool(host);
  }
}
