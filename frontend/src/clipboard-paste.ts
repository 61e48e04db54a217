/**
 * How a paste or a duplicate becomes ops (loaded on demand by clipboard.ts, which does the DOM).
 *
 * A copy is a self-contained JSON payload (the elements themselves, in z-order), so it pastes
 * into any board, tab or browser window. A paste gives every element a fresh id, remaps the
 * bindings (`sb`/`eb`) that point inside the pasted set and drops those that do not, gives each
 * group (`grp`) a fresh id, is checked against the board's limits before anything is sent, and
 * is one undo step.
 *
 * This module imports types only: anything it shared with the main bundle would be split into
 * a third file every board page loads. What it needs of the editor comes through PasteHost.
 */
import type { BoardState, Box } from "./ops";
import type { Element, Limits, Style } from "./protocol";

/** The `type` key that marks clipboard text as an Inkroom payload (clipboard.ts writes it). */
export const PAYLOAD_TYPE = "inkroom/elements";
/** Duplicates and pastes without a pointer over the board land this far from the originals. */
export const PASTE_OFFSET = 16;
/** The most characters one text element may hold (board/document/limits.py TEXT_MAX_CHARS). */
export const TEXT_MAX_CHARS = 10_000;
/** Coordinates are clamped to this (ops.ts COORD_MAX). */
const COORD_MAX = 10_000_000;
const ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/** What the server refuses in text: C0 controls other than tab and newlines, U+FFFE/U+FFFF, lone surrogates. */
const UNSENDABLE = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export interface Payload {
  type: typeof PAYLOAD_TYPE;
  v: 1;
  /** Random per copy: repeated pastes of one copy cascade. */
  nonce: string;
  elements: Element[];
}

type Bounds = (el: Element) => Box;

/** A fresh random id (the shape of canvas/tool.newElementId: 12 chars, ~71 bits). */
export function freshId(): string {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => ID_CHARS[b % ID_CHARS.length]).join("");
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const finite = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const numbers = (v: unknown): boolean => Array.isArray(v) && v.every(finite);
const clamp = (v: number) => Math.max(-COORD_MAX, Math.min(COORD_MAX, v));
const count = (n: number) => n.toLocaleString("en");

/**
 * The element if it is well-formed enough to draw locally; the server validates it in full.
 * Clipboard text is anyone's: a malformed element must not reach the renderer.
 */
function sane(raw: unknown): Element | null {
  if (!isObject(raw) || typeof raw.id !== "string" || typeof raw.type !== "string") return null;
  if (!finite(raw.x) || !finite(raw.y) || !isObject(raw.style)) return null;
  const s = raw.style;
  if (typeof s.color !== "string" || !finite(s.width) || !finite(s.opacity)) return null;
  if (raw.p !== undefined && !(numbers(raw.p) && (raw.p as number[]).length % 2 === 0)) return null;
  if (raw.pr !== undefined && !numbers(raw.pr)) return null;
  for (const key of ["w", "h", "size"]) if (raw[key] !== undefined && !finite(raw[key])) return null;
  if (raw.text !== undefined && typeof raw.text !== "string") return null;
  return raw as unknown as Element;
}

/** A payload from clipboard text (the custom MIME type or the text/plain fallback), or null. */
export function parsePayload(text: string | null | undefined): Payload | null {
  if (!text || !text.trimStart().startsWith("{")) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(raw) || raw.type !== PAYLOAD_TYPE || !Array.isArray(raw.elements)) return null;
  const elements = raw.elements.map(sane).filter((el): el is Element => el !== null);
  if (elements.length === 0) return null;
  return { type: PAYLOAD_TYPE, v: 1, nonce: typeof raw.nonce === "string" ? raw.nonce : "", elements };
}

export function unionBounds(els: readonly Element[], bounds: Bounds): Box {
  const box = { minX: Infinity, minY: Infinity, maxX: -Infinity, maxY: -Infinity };
  for (const el of els) {
    const b = bounds(el);
    box.minX = Math.min(box.minX, b.minX);
    box.minY = Math.min(box.minY, b.minY);
    box.maxX = Math.max(box.maxX, b.maxX);
    box.maxY = Math.max(box.maxY, b.maxY);
  }
  return box;
}

/** The whole-unit offset that centres `els` on world point (x, y). */
export function offsetToCentre(els: readonly Element[], x: number, y: number, bounds: Bounds): [number, number] {
  const b = unionBounds(els, bounds);
  return [Math.round(x - (b.minX + b.maxX) / 2), Math.round(y - (b.minY + b.maxY) / 2)];
}

/**
 * Copies of `els` moved by whole units (dx, dy), with fresh ids, bindings remapped inside the
 * set (dropped when their target is not in it) and fresh group ids, in the same order.
 */
export function cloneElements(els: readonly Element[], dx: number, dy: number, newId: () => string = freshId): Element[] {
  const ids = new Map<string, string>();
  for (const el of els) if (!ids.has(el.id)) ids.set(el.id, newId());
  const groups = new Map<string, string>();
  const out: Element[] = [];
  const seen = new Set<string>();
  for (const el of els) {
    // The first of duplicate ids wins, as the reducer's `rst` does.
    if (seen.has(el.id)) continue;
    seen.add(el.id);
    const copy = { ...el, style: { ...el.style }, id: ids.get(el.id)!, x: clamp(el.x + dx), y: clamp(el.y + dy) };
    const extra = copy as Record<string, unknown>;
    for (const end of ["sb", "eb"]) {
      const b = extra[end];
      if (b === undefined) continue;
      const target = isObject(b) && typeof b.id === "string" ? ids.get(b.id) : undefined;
      if (target) extra[end] = { ...b, id: target };
      else delete extra[end];
    }
    if (Array.isArray(extra.grp)) {
      extra.grp = (extra.grp as unknown[]).map((g) => {
        const key = String(g);
        if (!groups.has(key)) groups.set(key, newId());
        return groups.get(key)!;
      });
    }
    out.push(copy);
  }
  return out;
}

function totals(els: Iterable<Element>): [number, number] {
  let points = 0;
  let chars = 0;
  for (const el of els) {
    if (el.type === "stroke") points += (el.p?.length ?? 0) / 2;
    if (typeof el.text === "string") chars += el.text.length;
  }
  return [points, chars];
}

/** Why the board cannot take `els`, in words for the status line, or null if it can. */
export function refusal(state: BoardState, els: readonly Element[], limits: Limits): string | null {
  const what = `pasting ${count(els.length)} element${els.length === 1 ? "" : "s"}`;
  if (state.elements.size + els.length > limits.max_elements) {
    return `${what} would pass ${count(limits.max_elements)} elements, the most a board may have`;
  }
  const [havePoints, haveChars] = totals(state.elements.values());
  const [addPoints, addChars] = totals(els);
  if (addPoints > 0 && havePoints + addPoints > limits.max_board_points) {
    return `${what} would pass ${count(limits.max_board_points)} stroke points, the most a board may have`;
  }
  if (addChars > 0 && haveChars + addChars > limits.max_board_text_chars) {
    return `${what} would pass ${count(limits.max_board_text_chars)} characters of text, the most a board may have`;
  }
  if (els.some((el) => el.type === "stroke" && (el.p?.length ?? 0) / 2 > limits.max_points_per_stroke)) {
    return `${what}: a stroke has more than ${count(limits.max_points_per_stroke)} points, the most a stroke may have`;
  }
  return null;
}

/** Pasted plain text as a text element may hold it: newlines unified, what the server refuses dropped. */
export function cleanText(text: string): string {
  return text.replace(/\r\n?/g, "\n").slice(0, TEXT_MAX_CHARS).replace(UNSENDABLE, "").trimEnd();
}

/** What a paste needs of the editor. */
export interface PasteHost {
  view(): BoardState;
  limits(): Limits;
  /**
   * Add `els` on top as one user action and one undo step (undo.ts addOps and addedEntry: an
   * arrow bound to a box after it is bound once the box is there; SyncClient.submit splits a
   * stroke too long for one op).
   */
  add(els: Element[]): void;
  /** Make these the selection (with the select tool in hand). */
  select(ids: string[]): void;
  /** The refusal, for the status line. */
  refuse(reason: string): void;
  /** The world region in view: [x, y, w, h]. */
  viewport(): [number, number, number, number];
  toWorld(sx: number, sy: number): [number, number];
  textStyle(): Style;
  textSize(): number;
  bounds: Bounds;
}

/** Pastes and duplicates for one board page; remembers the last paste for the cascade. */
export class Paster {
  private last: { nonce: string; dx: number; dy: number } | null = null;

  constructor(private readonly host: PasteHost) {}

  /**
   * Paste a payload at `at` (canvas px; null: the pointer is not over the board). Centred on
   * the pointer; else 16 units right of and below the originals. Pasting the same copy again
   * with the pointer where it was cascades 16 further each time. An offset that would leave
   * everything outside the view (a copy from elsewhere, or another board) centres it in the
   * view instead.
   */
  payload(payload: Payload, at: [number, number] | null, pointerMoved: boolean): void {
    const h = this.host;
    const prev = this.last;
    let d: [number, number];
    if (prev && payload.nonce !== "" && prev.nonce === payload.nonce && !pointerMoved) {
      d = [prev.dx + PASTE_OFFSET, prev.dy + PASTE_OFFSET];
    } else if (at) {
      d = offsetToCentre(payload.elements, ...h.toWorld(...at), h.bounds);
    } else {
      d = [PASTE_OFFSET, PASTE_OFFSET];
      const b = unionBounds(payload.elements, h.bounds);
      const [vx, vy, vw, vh] = h.viewport();
      const outside = b.maxX + d[0] < vx || b.minX + d[0] > vx + vw || b.maxY + d[1] < vy || b.minY + d[1] > vy + vh;
      if (outside) d = offsetToCentre(payload.elements, vx + vw / 2, vy + vh / 2, h.bounds);
    }
    this.last = { nonce: payload.nonce, dx: d[0], dy: d[1] };
    this.place(cloneElements(payload.elements, d[0], d[1]));
  }

  /** Plain text becomes a text element with its top-left at the pointer (else the view's centre). */
  text(text: string, at: [number, number] | null): void {
    const h = this.host;
    const [vx, vy, vw, vh] = h.viewport();
    const [x, y] = at ? h.toWorld(...at) : [vx + vw / 2, vy + vh / 2];
    const clean = cleanText(text);
    if (!clean.trim()) return;
    const el: Element = { id: freshId(), type: "text", x: Math.round(x), y: Math.round(y), text: clean, size: h.textSize(), style: h.textStyle() };
    this.place([el]);
  }

  /** Copies of `els` 16 units right and below, selected. */
  duplicate(els: readonly Element[]): void {
    this.place(cloneElements(els, PASTE_OFFSET, PASTE_OFFSET));
  }

  /** Add `els` on top as one undoable action and select them, if the board has room. */
  private place(els: Element[]): void {
    const h = this.host;
    if (els.length === 0) return;
    const reason = refusal(h.view(), els, h.limits());
    if (reason) {
      h.refuse(reason);
      return;
    }
    h.add(els);
    h.select(els.map((el) => el.id));
  }
}
