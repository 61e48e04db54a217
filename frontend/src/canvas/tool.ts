/**
 * The tool contract: pointer samples in world coordinates in, ops and drafts out, through a
 * ToolHost that the editor provides.
 */
import type { BoardState, Box } from "../ops";
import type { Element, Limits, Style } from "../protocol";
import type { NewOp } from "../sync";
import type { UndoEntry } from "../undo";
import type { Context2D } from "./draw";
import type { ElementQuery } from "./scene";
import type { TextTarget } from "./text-tool";

/** Hit-test slack in screen pixels (converted to world units with the zoom). */
export const HIT_SLOP_PX = 6;
/** The same for a fingertip, which covers more than a mouse pointer's hot spot. */
export const TOUCH_HIT_SLOP_PX = 16;

/** The cursor over a selection that a drag would move (kept here, out of the lazy transform chunk). */
export const MOVE_CURSOR = "move";

export type ToolName =
  | "pen"
  | "highlighter"
  | "eraser"
  | "rect"
  | "ellipse"
  | "line"
  | "arrow"
  | "diamond"
  | "note"
  | "frame"
  | "text"
  | "select"
  | "hand"
  | "laser";

export interface PointerSample {
  x: number;
  y: number;
  /** 0..1 from a stylus, null when the device reports no real pressure (mouse, touch). */
  pressure: number | null;
  shift: boolean;
  /** Alt/Option held: resize from the centre; with Ctrl/Cmd, no snapping. */
  alt?: boolean;
  /** Ctrl or Cmd held: no snapping. */
  ctrl?: boolean;
  /** From a finger: hit tests take TOUCH_HIT_SLOP_PX of slack. */
  touch?: boolean;
}

/** Hit-test slack in world units for a sample at this zoom. */
export function hitSlop(p: PointerSample, zoom: number): number {
  return (p.touch ? TOUCH_HIT_SLOP_PX : HIT_SLOP_PX) / zoom;
}

/** What a tool may do to the editor. */
export interface ToolHost {
  view(): BoardState;
  /** The elements of view() by region, for hit tests. */
  scene(): ElementQuery;
  submit(ops: NewOp[]): void;
  record(entry: UndoEntry): void;
  style(tool: ToolName): Style;
  textSize(): number;
  limits(): Limits;
  zoom(): number;
  selection: Set<string>;
  pan(dsx: number, dsy: number): void;
  /** Open the text editor on a new text or an element's text (text-edit.ts does the ops). */
  editText(target: TextTarget): void;
  /** The laser pointer is at (x, y), held down or just released (canvas/laser.ts). */
  laser(x: number, y: number, down: boolean): void;
  now(): number;
}

export interface Tool {
  down(p: PointerSample): void;
  move(samples: readonly PointerSample[]): void;
  up(): void;
  /** Abandon the gesture (a second finger turned it into a pinch): undo what it already sent. */
  cancel?(): void;
  /** Called every animation frame: time-based flushing. */
  tick(): void;
  drafts(): Element[];
  marquee(): Box | null;
  /** The CSS cursor for a pointer hovering (or dragging) at `p`; null: the canvas's own. */
  cursor?(p: PointerSample): string | null;
  /** Draw the tool's own overlay (handles, guides) in world coordinates; the box drawn over. */
  decorate?(ctx: Context2D, zoom: number): Box | null;
}

const ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A fresh element id (12 chars, ~71 bits: unique within a board in practice). */
export function newElementId(): string {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => ID_CHARS[b % ID_CHARS.length]).join("");
}
