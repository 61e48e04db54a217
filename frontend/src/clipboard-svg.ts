/**
 * The selection as SVG and PNG for other apps' paste (loaded on demand by clipboard.ts: the
 * board page does not need it to draw).
 *
 * Geometry follows canvas/draw.ts: strokes are the same perfect-freehand outline, arrowheads
 * the same two barbs, text and labels the same wrapped lines in the same font stacks and
 * frames (canvas/text-draw.ts). The PNG is the SVG drawn onto a canvas (through a data: URL,
 * which the page's img-src allows), on white.
 */
import { ARROW_HEAD_ANGLE, arrowHeadLength } from "./canvas/draw";
import type { Box } from "./ops";
import type { Element } from "./protocol";

/**
 * The geometry it shares with the canvas, passed in by the caller rather than imported: a
 * module imported both by the main bundle and by this lazy chunk would be split into a third
 * file that every board page loads.
 */
export interface Geometry {
  /** canvas/draw.ts strokeOutlinePoints */
  outline(el: Element): number[][];
  /** canvas/draw.ts inkBounds */
  ink(el: Element): Box;
  /** ops.ts boundsOf */
  bounds(el: Element): Box;
  /** The lines of a text element or a box shape's label and where they go (canvas/text-draw.ts), or null. */
  text(el: Element): TextFrame | null;
  /** The CSS font family of an element's text (canvas/text-draw.ts FONT_STACKS). */
  family(el: Element): string;
  /** Fetch an image asset of this board (its `preview`: the small copy), or null when none can be. */
  asset(asset: string, preview: boolean): Promise<Response> | null;
}

/** Pictures by asset, as data: URLs: an SVG drawn as an image (the PNG) loads nothing else. */
export type Pictures = ReadonlyMap<string, string>;

/** canvas/text-draw.ts TextFrame (a type: importing it costs nothing at run time). */
type TextFrame = import("./canvas/text-draw").TextFrame;

/** Room around the selection (world units). */
const PADDING = 16;
/** PNG pixels per world unit, and the most pixels a side may have. */
const PNG_SCALE = 2;
const PNG_MAX_SIDE = 4096;
/** An original larger than this (bytes) goes in as its preview (at most 512 px a side). */
const EMBED_MAX_BYTES = 4 * 1024 * 1024;
/** A picture not (yet) at hand: the canvas's placeholder (canvas/images.ts). */
const PLACEHOLDER = 'fill="#e9ecef" stroke="#adb5bd" stroke-width="1"';
/** Note fill when the note has none (SPEC16: sticky notes default to yellow). */
const NOTE_FILL = "#ffec99";
/** The note's shadow (board/document/geometry.py NOTE_SHADOW_OFFSET; black at this opacity). */
const NOTE_SHADOW_OFFSET = 4;
const NOTE_SHADOW_OPACITY = 0.15;
/** A frame's name: size, gap above the frame, colour, font (board/export/render_shapes.py). */
const FRAME_LABEL = { size: 14, gap: 6, color: "#495057", font: "system-ui, sans-serif" };
/** canvas/text-layout.ts LINE_HEIGHT: lines are this many sizes apart. */
const LINE_HEIGHT = 1.25;

/** The (on, off) lengths of a dashed or dotted outline, as the canvas and the export draw them. */
function dashArray(style: { dash?: string; width: number }): string | null {
  const w = style.width;
  if (style.dash === "dash") return `${n(3 * w + 4)} ${n(2 * w + 4)}`;
  if (style.dash === "dot") return `1 ${n(2 * w + 3)}`;
  return null;
}

/** The optional keys other features add (SPEC16); absent means the default. */
type Extra = { rot?: number; name?: string; style: { dash?: string; fs?: string } };

const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const n = (v: number) => String(Math.round(v * 100) / 100);

function strokePath(el: Element, g: Geometry): string {
  const pts = g.outline(el);
  if (pts.length === 0) return "";
  let d = `M${n(pts[0][0])} ${n(pts[0][1])}`;
  for (let k = 0; k < pts.length; k++) {
    const [x0, y0] = pts[k];
    const [x1, y1] = pts[(k + 1) % pts.length];
    d += `Q${n(x0)} ${n(y0)} ${n((x0 + x1) / 2)} ${n((y0 + y1) / 2)}`;
  }
  return `<path d="${d}Z" fill="${esc(el.style.color)}"/>`;
}

function lineAttrs(el: Element & Extra): string {
  const s = el.style;
  const dash = dashArray(s);
  return `stroke="${esc(s.color)}" stroke-width="${n(s.width)}" stroke-linecap="round" stroke-linejoin="round"${dash ? ` stroke-dasharray="${dash}"` : ""}`;
}

const ANCHOR = { left: "start", center: "middle", right: "end" } as const;
const OFFSET = { left: 0, center: 0.5, right: 1 } as const;

/** Lines from their top, as the canvas draws them (textBaseline top, textAlign within the frame's width). */
function textLines(f: TextFrame, family: string, color: string): string {
  const x = f.left + f.width * OFFSET[f.align];
  const attrs = `x="${n(x)}" font-size="${n(f.size)}" font-family="${esc(family)}" fill="${esc(color)}" dominant-baseline="text-before-edge" text-anchor="${ANCHOR[f.align]}" xml:space="preserve"`;
  return f.lines.map((line, k) => `<text y="${n(f.top + k * f.size * LINE_HEIGHT)}" ${attrs}>${esc(line)}</text>`).join("");
}

function box(el: Element): { x: number; y: number; w: number; h: number } {
  const w = el.w ?? 0;
  const h = el.h ?? 0;
  return { x: Math.min(el.x, el.x + w), y: Math.min(el.y, el.y + h), w: Math.abs(w), h: Math.abs(h) };
}

/** [defs, fill attribute value]: a colour, none, or a hatch pattern (45°, as the export draws it). */
function fillOf(el: Element & Extra): [string, string] {
  const s = el.style;
  if (!s.fill || !s.fs || s.fs === "solid") return ["", s.fill ? esc(s.fill) : "none"];
  const gap = Math.max(10, 4 * s.width);
  const half = gap / 2;
  let d = `M${n(half)} 0V${n(gap)}`;
  if (s.fs === "cross") d += `M0 ${n(half)}H${n(gap)}`;
  const id = `fs-${esc(el.id)}`;
  return [
    `<defs><pattern id="${id}" patternUnits="userSpaceOnUse" width="${n(gap)}" height="${n(gap)}" patternTransform="rotate(45)"><path d="${d}" stroke="${esc(s.fill)}" stroke-width="${n(Math.max(1, s.width / 2))}" fill="none"/></pattern></defs>`,
    `url(#${id})`,
  ];
}

function shape(el: Element & Extra, g: Geometry, pictures: Pictures): string {
  const s = el.style;
  const frame = g.text(el);
  const label = frame ? textLines(frame, g.family(el), s.color) : "";
  const { x, y, w, h } = box(el);
  const [defs, fill] = fillOf(el);
  const paint = `fill="${fill}" ${lineAttrs(el)}`;
  const rect = (attrs: string) => `<rect x="${n(x)}" y="${n(y)}" width="${n(w)}" height="${n(h)}" ${attrs}/>`;
  switch (el.type as string) {
    case "stroke":
      return strokePath(el, g);
    case "rect":
      return defs + rect(paint) + label;
    case "image": {
      const href = el.asset ? pictures.get(el.asset) : undefined;
      if (!href) return rect(PLACEHOLDER);
      return `<image href="${href}" x="${n(x)}" y="${n(y)}" width="${n(w)}" height="${n(h)}" preserveAspectRatio="none"/>`;
    }
    case "note": {
      const shadow = `<rect x="${n(x + NOTE_SHADOW_OFFSET)}" y="${n(y + NOTE_SHADOW_OFFSET)}" width="${n(w)}" height="${n(h)}" fill="#000000" fill-opacity="${NOTE_SHADOW_OPACITY}"/>`;
      return shadow + rect(`fill="${esc(s.fill ?? NOTE_FILL)}"`) + label;
    }
    case "frame": {
      const name = (el.name ?? "").replace(/\r\n?|\n/g, " ");
      const title = name.trim()
        ? `<text x="${n(x)}" y="${n(y - FRAME_LABEL.gap)}" font-size="${FRAME_LABEL.size}" font-family="${FRAME_LABEL.font}" fill="${FRAME_LABEL.color}" xml:space="preserve">${esc(name)}</text>`
        : "";
      return defs + rect(paint) + title;
    }
    case "ellipse":
      return defs + `<ellipse cx="${n(x + w / 2)}" cy="${n(y + h / 2)}" rx="${n(w / 2)}" ry="${n(h / 2)}" ${paint}/>` + label;
    case "diamond":
      return (
        defs +
        `<path d="M${n(x + w / 2)} ${n(y)}L${n(x + w)} ${n(y + h / 2)}L${n(x + w / 2)} ${n(y + h)}L${n(x)} ${n(y + h / 2)}Z" ${paint}/>` +
        label
      );
    case "line":
    case "arrow": {
      const x2 = el.x + (el.w ?? 0);
      const y2 = el.y + (el.h ?? 0);
      let out = `<line x1="${n(el.x)}" y1="${n(el.y)}" x2="${n(x2)}" y2="${n(y2)}" ${lineAttrs(el)}/>`;
      if (el.type === "arrow") {
        // The arrowhead rule of the canvas and the exports (draw.ts ARROW_HEAD_*).
        const angle = Math.atan2(y2 - el.y, x2 - el.x);
        const len = Math.min(arrowHeadLength(s.width), Math.hypot(x2 - el.x, y2 - el.y));
        const barb = (da: number) => `${n(x2 - len * Math.cos(angle + da))},${n(y2 - len * Math.sin(angle + da))}`;
        out += `<polyline points="${barb(-ARROW_HEAD_ANGLE)} ${n(x2)},${n(y2)} ${barb(ARROW_HEAD_ANGLE)}" fill="none" ${lineAttrs({ ...el, style: { ...s, dash: undefined } })}/>`;
      }
      return out;
    }
    case "text":
      return label;
    default:
      return "";
  }
}

function drawn(el: Element & Extra, g: Geometry, pictures: Pictures): string {
  const body = shape(el, g, pictures);
  if (!body) return "";
  const opacity = el.style.opacity < 1 ? ` opacity="${n(el.style.opacity)}"` : "";
  // About the centre of the unrotated box (SPEC16 `rot`).
  const c = g.bounds(el);
  const rot = el.rot ? ` transform="rotate(${n(el.rot)} ${n((c.minX + c.maxX) / 2)} ${n((c.minY + c.maxY) / 2)})"` : "";
  return opacity || rot ? `<g${opacity}${rot}>${body}</g>` : body;
}

export function selectionBounds(els: readonly Element[], g: Geometry): Box {
  const b = { minX: Infinity, minY: Infinity, maxX: -Infinity, maxY: -Infinity };
  for (const el of els) {
    const ink = g.ink(el);
    b.minX = Math.min(b.minX, ink.minX);
    b.minY = Math.min(b.minY, ink.minY);
    b.maxX = Math.max(b.maxX, ink.maxX);
    b.maxY = Math.max(b.maxY, ink.maxY);
  }
  return { minX: b.minX - PADDING, minY: b.minY - PADDING, maxX: b.maxX + PADDING, maxY: b.maxY + PADDING };
}

/** The elements (in z-order) as a standalone SVG document framing their ink. */
export function selectionSvg(els: readonly Element[], g: Geometry, pictures: Pictures = new Map()): string {
  const b = selectionBounds(els, g);
  const w = Math.max(1, Math.ceil(b.maxX - b.minX));
  const h = Math.max(1, Math.ceil(b.maxY - b.minY));
  // Frames are drawn beneath everything (as on the canvas and in the export), each kind in z-order.
  const order = [...els.filter((el) => el.type === "frame"), ...els.filter((el) => el.type !== "frame")];
  const body = order.map((el) => drawn(el as Element & Extra, g, pictures)).join("");
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="${n(b.minX)} ${n(b.minY)} ${w} ${h}">` +
    `${body}</svg>`
  );
}

/** The pictures of the image elements among `els` (the original, or its preview when large). */
export async function fetchPictures(els: readonly Element[], g: Geometry): Promise<Pictures> {
  const out = new Map<string, string>();
  const assets = new Set(els.flatMap((el) => (el.type === "image" && el.asset ? [el.asset] : [])));
  await Promise.all(
    [...assets].map(async (asset) => {
      for (const preview of [false, true]) {
        const res = await g.asset(asset, preview)?.catch(() => null);
        if (!res?.ok) continue;
        const blob = await res.blob();
        if (!preview && blob.size > EMBED_MAX_BYTES) continue;
        out.set(asset, await dataUrl(blob));
        return;
      }
    }),
  );
  return out;
}

function dataUrl(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

/** The SVG drawn onto a white canvas, as a PNG blob. */
export async function svgToPng(svg: string): Promise<Blob> {
  const img = new Image();
  img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
  await img.decode();
  const scale = Math.min(PNG_SCALE, PNG_MAX_SIDE / Math.max(img.width, img.height, 1));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(img.width * scale));
  canvas.height = Math.max(1, Math.round(img.height * scale));
  const ctx = canvas.getContext("2d");
  if (!ctx) throw new Error("2D canvas is not available in this browser");
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("PNG encoding failed"))), "image/png"),
  );
}
