/**
 * Text layout shared with the exports (board/document/textlayout.py, rule for rule): character
 * widths from a fixed table, greedy word wrapping, label boxes. Lines break where the table
 * says, never where this machine's fonts measure, so a wrapped text breaks at the same words
 * on every canvas and in every SVG/PNG export (tests/frontend/test_text_layout_parity.py).
 * Widths are integers (hundredths of an em times a per-font percentage): exact on both sides.
 * Strings are walked by code point (for..of), as Python indexes them.
 */
import type { Element } from "../protocol";

export const LINE_HEIGHT = 1.25;
export type FontName = "hand" | "sans" | "serif" | "mono";
export type Align = "left" | "center" | "right";
export const DEFAULT_FONT: FontName = "hand";
/** Element types that carry an optional label (`text`, `size`, `align`), drawn centred inside. */
export const LABELLED_TYPES: readonly string[] = ["rect", "ellipse", "diamond", "note"];
export const LABEL_PAD = 8;
export const DEFAULT_LABEL_SIZE = 24;

const FONT_SCALE: Record<FontName, number> = { hand: 110, sans: 100, serif: 95, mono: 100 };
const NARROW = "ijlI|!.,:;'`";
const SEMI = "frt()[]{}/\\-\"";
const WIDE = "mwMW@%";

function asciiUnits(c: string): number {
  if (c === " ") return 28;
  if (NARROW.includes(c)) return 28;
  if (SEMI.includes(c)) return 38;
  if (WIDE.includes(c)) return 88;
  if (c >= "A" && c <= "Z") return 68;
  if (c >= "a" && c <= "z") return 54;
  if (c >= "0" && c <= "9") return 56;
  return 50;
}

const PROPORTIONAL = Array.from({ length: 128 }, (_, n) => asciiUnits(String.fromCharCode(n)));
const WIDE_RANGES: readonly [number, number][] = [
  [0x1100, 0x115f], [0x2e80, 0xa4cf], [0xac00, 0xd7a3], [0xf900, 0xfaff], [0xfe30, 0xfe4f],
  [0xff00, 0xff60], [0xffe0, 0xffe6], [0x1f300, 0x1faff], [0x20000, 0x3fffd],
];

export function charUnits(code: number, font: FontName): number {
  if ((code >= 0x300 && code <= 0x36f) || (code >= 0x200b && code <= 0x200d) || (code >= 0xfe00 && code <= 0xfe0f)) return 0;
  const wide = code >= 0x1100 && WIDE_RANGES.some(([lo, hi]) => code >= lo && code <= hi);
  if (font === "mono") return wide ? 120 : 60;
  if (code < 128) return PROPORTIONAL[code];
  return wide ? 100 : 60;
}

export function fontOf(el: Pick<Element, "style">): FontName {
  const font = (el.style as { font?: string }).font;
  return font !== undefined && font in FONT_SCALE ? (font as FontName) : DEFAULT_FONT;
}

function units(chars: readonly string[], font: FontName): number {
  let sum = 0;
  for (const c of chars) sum += charUnits(c.codePointAt(0) ?? 0, font);
  return sum * FONT_SCALE[font];
}

export function textUnits(text: string, font: FontName): number {
  return units(Array.from(text), font);
}

/** Estimated width of one line at `size`, world units. */
export function lineWidth(text: string, size: number, font: FontName): number {
  return (textUnits(text, font) * size) / 10_000;
}

/** Hard lines: CR, LF or CRLF end a line. */
export function paragraphs(text: string): string[] {
  return text.replace(/\r\n/g, "\n").replace(/\r/g, "\n").split("\n");
}

function breakWord(word: string[], size: number, limit: number, font: FontName, out: string[]): string[] {
  const scale = FONT_SCALE[font];
  while (word.length > 1 && units(word, font) * size > limit) {
    let k = 0;
    let used = 0;
    while (k < word.length) {
      const step = charUnits(word[k].codePointAt(0) ?? 0, font) * scale;
      if (k > 0 && (used + step) * size > limit) break;
      used += step;
      k += 1;
    }
    if (k >= word.length) break;
    out.push(word.slice(0, k).join(""));
    word = word.slice(k);
  }
  return word;
}

/** Greedy word wrap of one hard line to `width` world units (textlayout.wrap_paragraph). */
export function wrapParagraph(par: string, size: number, width: number, font: FontName): string[] {
  const limit = width * 10_000;
  const space = charUnits(32, font) * FONT_SCALE[font];
  const out: string[] = [];
  let cur = "";
  let curUnits = 0;
  let started = false;
  for (const w of par.split(" ")) {
    let word = Array.from(w);
    const u = units(word, font);
    if (started) {
      if ((curUnits + space + u) * size <= limit) {
        cur += " " + w;
        curUnits += space + u;
        continue;
      }
      out.push(cur);
    }
    started = true;
    word = breakWord(word, size, limit, font, out);
    cur = word.join("");
    curUnits = units(word, font);
  }
  out.push(cur);
  return out;
}

export function layoutLines(text: string, size: number, width: number | undefined, font: FontName): string[] {
  const pars = paragraphs(text);
  if (width === undefined) return pars;
  return pars.flatMap((par) => wrapParagraph(par, size, width, font));
}

export function isLabelled(el: Pick<Element, "type">): boolean {
  return LABELLED_TYPES.includes(el.type);
}

/** The wrap width of a box shape's label: what fits inside the shape, at least 1. */
export function labelWidth(el: Pick<Element, "type" | "w">): number {
  const side = Math.abs(el.w ?? 0);
  const type: string = el.type;
  const inner = type === "ellipse" ? Math.floor((side * 70) / 100) : type === "diamond" ? Math.floor(side / 2) : side - 2 * LABEL_PAD;
  return Math.max(1, inner);
}

/** The display lines of a text element or of a box shape's label ([] for none). */
export function textBoxLines(el: Element): string[] {
  const text = el.text;
  if (!text) return [];
  const size = el.size ?? DEFAULT_LABEL_SIZE;
  return layoutLines(text, size, el.type === "text" ? el.w : labelWidth(el), fontOf(el));
}

/** (width, height) of a text element's box: its wrap width, else its widest line. */
export function textExtent(el: Element): [number, number] {
  const size = el.size ?? DEFAULT_LABEL_SIZE;
  const lines = textBoxLines(el);
  if (lines.length === 0) lines.push("");
  const font = fontOf(el);
  const width = el.w !== undefined ? el.w : Math.max(...lines.map((l) => lineWidth(l, size, font)));
  return [width, lines.length * size * LINE_HEIGHT];
}
