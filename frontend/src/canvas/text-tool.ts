/**
 * The text tool: a click on empty board starts a text there, a drag starts one wrapped to the
 * dragged width (`w`), a click on a text or a box shape edits it (its label). The editing
 * itself (the overlay, the ops) is the host's: ToolHost.editText.
 */
import type { Box } from "../ops";
import type { Element } from "../protocol";
import { topmostAt } from "./hit";
import { isLabelled } from "./text-layout";
import { hitSlop, type PointerSample, type Tool, type ToolHost } from "./tool";
import type { ElementQuery } from "./scene";

/** What to edit: a new text at (x, y) (wrapped to `w` if given), or an element's text/label. */
export type TextTarget = { kind: "new"; x: number; y: number; w?: number } | { kind: "element"; id: string };

/** A drag shorter than this (screen px) is a click. */
const DRAG_PX = 6;
/** The widest wrap width (protocol §3.1). */
const WRAP_MAX = 20_000;

/** The text or box shape under (x, y) whose text can be edited, or null. */
export function editableAt(scene: ElementQuery, p: PointerSample, zoom: number): Element | null {
  const el = topmostAt(scene, p.x, p.y, hitSlop(p, zoom));
  return el && !el.lock && (el.type === "text" || isLabelled(el)) ? el : null;
}

export class TextTool implements Tool {
  private start: PointerSample | null = null;
  private box: Box | null = null;

  constructor(private readonly host: ToolHost) {}

  down(p: PointerSample): void {
    this.start = p;
    this.box = null;
  }

  move(samples: readonly PointerSample[]): void {
    const s = this.start;
    const p = samples[samples.length - 1];
    if (!s || !p) return;
    const z = this.host.zoom();
    if (!this.box && Math.max(Math.abs(p.x - s.x), Math.abs(p.y - s.y)) * z < DRAG_PX) return;
    this.box = { minX: Math.min(s.x, p.x), minY: Math.min(s.y, p.y), maxX: Math.max(s.x, p.x), maxY: Math.max(s.y, p.y) };
  }

  up(): void {
    const s = this.start;
    const box = this.box;
    this.start = null;
    this.box = null;
    if (!s) return;
    if (box) {
      const w = Math.max(1, Math.min(WRAP_MAX, Math.round(box.maxX - box.minX)));
      this.host.editText({ kind: "new", x: Math.round(box.minX), y: Math.round(box.minY), w });
      return;
    }
    const el = editableAt(this.host.scene(), s, this.host.zoom());
    this.host.editText(el ? { kind: "element", id: el.id } : { kind: "new", x: Math.round(s.x), y: Math.round(s.y) });
  }

  cancel(): void {
    this.start = null;
    this.box = null;
  }

  tick(): void {}

  drafts(): Element[] {
    return [];
  }

  /** The box being dragged out: the wrap width the text will get. */
  marquee(): Box | null {
    return this.box;
  }
}
