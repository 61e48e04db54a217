/**
 * The pen in hand: the palette the toolbar edits, and the style a new element gets from it.
 */
import type { Dash, FillPattern, Font, Style } from "../protocol";
import type { ToolName } from "./tools";

export interface Palette {
  color: string;
  width: number;
  fill: string | null;
  textSize: number;
  /** The style panel's keys (ui/style-panel.ts): 1 and the first values by default. */
  opacity: number;
  dash: Dash;
  fs: FillPattern;
  font: Font;
}

export const DEFAULT_PALETTE: Readonly<Palette> = {
  color: "#1e1e1e",
  width: 4,
  fill: null,
  textSize: 24,
  opacity: 1,
  dash: "solid",
  fs: "solid",
  font: "hand",
};
/** A new frame's outline colour. */
const FRAME_COLOR = "#868e96";
/** A sticky note's paper when no fill is chosen. */
export const NOTE_FILL = "#ffec99";
/** Tools whose shapes take the fill (a note always has one). */
const FILLED = new Set<ToolName>(["rect", "ellipse", "diamond"]);

/** Highlighter ink: translucent and wide (see draw.HIGHLIGHTER_MAX_OPACITY). */
const HIGHLIGHTER_OPACITY = 0.35;
const HIGHLIGHTER_WIDTH_FACTOR = 4;

/** The style an element drawn with `tool` gets: only closed shapes take the fill. */
export function toolStyle(tool: ToolName, p: Palette): Style {
  if (tool === "highlighter") {
    return { color: p.color, width: Math.min(256, p.width * HIGHLIGHTER_WIDTH_FACTOR), opacity: HIGHLIGHTER_OPACITY, fill: null };
  }
  // A frame is a container: a thin grey outline whatever the pen (restyled like any element).
  if (tool === "frame") return { color: FRAME_COLOR, width: 2, opacity: 1, fill: null };
  const fill = tool === "note" ? (p.fill ?? NOTE_FILL) : FILLED.has(tool) ? p.fill : null;
  const style: Style = { color: p.color, width: p.width, opacity: p.opacity, fill };
  // Default values stay absent: the stored form (and a pen stroke's UP_ADD) stays small.
  if (p.dash !== "solid") style.dash = p.dash;
  if (fill && p.fs !== "solid") style.fs = p.fs;
  if (p.font !== "hand" && tool !== "pen") style.font = p.font;
  return style;
}
