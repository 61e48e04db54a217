/**
 * Drawing text elements and box-shape labels: the lines text-layout.ts breaks them into (the
 * export's lines too), in the element's font family, aligned within the same boxes the SVG
 * export uses (board/export/text.py).
 */
import type { Box } from "../ops";
import type { Element } from "../protocol";
import {
  DEFAULT_LABEL_SIZE,
  fontOf,
  labelWidth,
  LINE_HEIGHT,
  lineWidth,
  textBoxLines,
  type Align,
  type FontName,
} from "./text-layout";

type Context2D = CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D;

/** CSS font stacks per `style.font` (the export names the same faces first). */
export const FONT_STACKS: Record<FontName, string> = {
  hand: '"Comic Sans MS", "Comic Neue", "Segoe Print", "Bradley Hand", cursive',
  sans: 'system-ui, "DejaVu Sans", Arial, sans-serif',
  serif: 'Georgia, "DejaVu Serif", "Times New Roman", serif',
  mono: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
};

/** The CSS font of an element's text at `size` world units. */
export function cssFont(el: Pick<Element, "style">, size: number): string {
  return `${size}px ${FONT_STACKS[fontOf(el)]}`;
}

/** Where a text's lines go: the box they align in (left, top, width) and its alignment. */
export interface TextFrame {
  left: number;
  top: number;
  width: number;
  align: Align;
  lines: string[];
  size: number;
}

/** A text element's frame: its wrap width from (x, y), or its widest line without one. */
export function textFrame(el: Element): TextFrame {
  const size = el.size ?? DEFAULT_LABEL_SIZE;
  const lines = textBoxLines(el);
  const font = fontOf(el);
  const width = el.w ?? Math.max(0, ...lines.map((l) => lineWidth(l, size, font)));
  return { left: el.x, top: el.y, width, align: el.align ?? "left", lines, size };
}

/** A box shape's label frame: centred in the shape, as wide as labelWidth. */
export function labelFrame(el: Element): TextFrame {
  const size = el.size ?? DEFAULT_LABEL_SIZE;
  const lines = textBoxLines(el);
  const w = el.w ?? 0;
  const h = el.h ?? 0;
  const width = labelWidth(el);
  const left = Math.min(el.x, el.x + w) + Math.abs(w) / 2 - width / 2;
  const top = Math.min(el.y, el.y + h) + Math.abs(h) / 2 - (lines.length * size * LINE_HEIGHT) / 2;
  return { left, top, width, align: el.align ?? "center", lines, size };
}

const OFFSET: Record<Align, number> = { left: 0, center: 0.5, right: 1 };

function drawFrame(ctx: Context2D, el: Element, f: TextFrame): void {
  ctx.fillStyle = el.style.color;
  ctx.font = cssFont(el, f.size);
  ctx.textBaseline = "top";
  ctx.textAlign = f.align;
  const x = f.left + f.width * OFFSET[f.align];
  f.lines.forEach((line, n) => ctx.fillText(line, x, f.top + n * f.size * LINE_HEIGHT));
  ctx.textAlign = "left";
}

export function drawText(ctx: Context2D, el: Element): void {
  drawFrame(ctx, el, textFrame(el));
}

export function drawLabel(ctx: Context2D, el: Element): void {
  if (el.text) drawFrame(ctx, el, labelFrame(el));
}

let measurer: CanvasRenderingContext2D | null = null;

/** The glyphs' extent, measured: the layout only estimates widths, real glyphs may reach past. */
export function textInk(el: Element, box: Box): Box {
  measurer ??= document.createElement("canvas").getContext("2d");
  if (!measurer) return box;
  const f = el.type === "text" ? textFrame(el) : labelFrame(el);
  measurer.font = cssFont(el, f.size);
  measurer.textBaseline = "top";
  measurer.textAlign = f.align;
  const x = f.left + f.width * OFFSET[f.align];
  const out = { ...box };
  f.lines.forEach((line, n) => {
    const m = measurer!.measureText(line);
    const y = f.top + n * f.size * LINE_HEIGHT;
    out.minX = Math.min(out.minX, x - m.actualBoundingBoxLeft);
    out.maxX = Math.max(out.maxX, x + m.actualBoundingBoxRight);
    out.minY = Math.min(out.minY, y - m.actualBoundingBoxAscent);
    out.maxY = Math.max(out.maxY, y + m.actualBoundingBoxDescent);
  });
  return out;
}
