/**
 * The pen in hand: the palette the toolbar edits, and the style a new element gets from it.
 */
import type { Style } from "../protocol";
import type { ToolName } from "./tools";

export interface Palette {
  color: string;
  width: number;
  fill: string | null;
  textSize: number;
}

export const DEFAULT_PALETTE: Readonly<Palette> = { color: "#1e1e1e", width: 4, fill: null, textSize: 24 };

/** Highlighter ink: translucent and wide (see draw.HIGHLIGHTER_MAX_OPACITY). */
const HIGHLIGHTER_OPACITY = 0.35;
const HIGHLIGHTER_WIDTH_FACTOR = 4;

/** The style an element drawn with `tool` gets: only closed shapes take the fill. */
export function toolStyle(tool: ToolName, p: Palette): Style {
  if (tool === "highlighter") {
    return { color: p.color, width: Math.min(256, p.width * HIGHLIGHTER_WIDTH_FACTOR), opacity: HIGHLIGHTER_OPACITY, fill: null };
  }
  const fill = tool === "rect" || tool === "ellipse" ? p.fill : null;
  return { color: p.color, width: p.width, opacity: 1, fill };
}
