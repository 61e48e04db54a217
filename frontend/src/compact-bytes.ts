/**
 * The byte layouts shared by protocol v2's compact frames (docs/protocol.md §2.5): frame and entry
 * tags, varints, strings, styles by their canonical JSON text, and packed points. The frames
 * themselves are compact-up.ts (client -> server) and compact-down.ts (server -> client).
 */
import { ProtocolError } from "./protocol";


/** First byte of each compact frame; none is a msgpack map prefix (0x80-0x8f, 0xde, 0xdf). */
export const UP_APP = 0x01;
export const DOWN_OPS = 0x02;
export const DOWN_DEFS = 0x03;
export const UP_ADD = 0x04;
export const UP_NEXT = 0x05;
export const DOWN_CONT = 0x06;
/** Compact tentatives (§2.6, `tentative=2`): ops before their commit, and their promotion. */
export const DOWN_TENT = 0x07;
export const DOWN_PROMOTE = 0x08;
/** Entry tags inside a DOWN_OPS frame. */
export const ENTRY_V1 = 0;
export const ENTRY_APP = 1;
export const ENTRY_ADD = 2;
export const ENTRY_NEXT = 3;
/** A residual pair with both parts within ±PAIR_MAX is one byte below PAIR_CODES. */
const PAIR_MAX = 7;
const PAIR_SPAN = 2 * PAIR_MAX + 1;
export const PAIR_CODES = PAIR_SPAN * PAIR_SPAN;
/** Escape byte: the residual pair follows as two zigzag varints. 225..254 are reserved. */
export const ESCAPE = 0xff;
/** Longer varints are refused, as in the reference (stops pathological input). */
const MAX_VARINT_BYTES = 9;
/** The reference decoder's default bound on points per block in DOWN_OPS entries. */
export const DEFAULT_MAX_POINTS = 1 << 16;

/** A malformed compact frame (or values that cannot be encoded). */
export class CompactError extends ProtocolError {
  override name = "CompactError";
}

// --- varints ---------------------------------------------------------------------------------

/** Append `n` >= 0 as unsigned LEB128. Arithmetic, not bit ops: those truncate to 32 bits. */
export function putVarint(out: number[], n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new CompactError(`cannot encode ${n} as a varint`);
  while (n > 0x7f) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
}

/** Signed to unsigned, small magnitudes to small numbers: 0, -1, 1, -2 -> 0, 1, 2, 3. */
export function zigzag(n: number): number {
  const z = n >= 0 ? 2 * n : -2 * n - 1;
  if (!Number.isSafeInteger(n) || !Number.isSafeInteger(z)) throw new CompactError(`cannot zigzag ${n}`);
  return z;
}

export function unzigzag(z: number): number {
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

/** A cursor over a compact frame; every read throws CompactError past the end. */
export class Reader {
  constructor(
    readonly data: Uint8Array,
    public pos = 0,
  ) {}

  byte(): number {
    if (this.pos >= this.data.length) throw new CompactError("truncated frame");
    return this.data[this.pos++];
  }

  varint(): number {
    let n = 0;
    let scale = 1;
    for (let k = 0; k < MAX_VARINT_BYTES; k++) {
      if (this.pos + k >= this.data.length) throw new CompactError("truncated varint");
      const b = this.data[this.pos + k];
      n += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (!Number.isSafeInteger(n)) throw new CompactError("varint beyond 2^53");
        this.pos += k + 1;
        return n;
      }
      scale *= 0x80;
    }
    throw new CompactError("varint too long");
  }

  take(n: number): Uint8Array {
    const end = this.pos + n;
    if (end > this.data.length) throw new CompactError("truncated frame");
    const chunk = this.data.subarray(this.pos, end);
    this.pos = end;
    return chunk;
  }

  atEnd(): boolean {
    return this.pos >= this.data.length;
  }
}

// Strict like Python's bytes.decode(): invalid UTF-8 is an error and a BOM is kept as text.
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

export function readString(r: Reader): string {
  const raw = r.take(r.varint());
  try {
    return utf8Decoder.decode(raw);
  } catch {
    throw new CompactError("a string is not UTF-8");
  }
}

export function putString(out: number[], text: string): void {
  const raw = utf8Encoder.encode(text);
  putVarint(out, raw.length);
  for (const b of raw) out.push(b);
}

// --- styles ----------------------------------------------------------------------------------

/**
 * A style map as canonical JSON text, the form realtime/wire/compact.py's style_name gives it (the
 * name of its handle): keys sorted (by code point), no spaces, ASCII only (everything past
 * 0x7e escaped as \uXXXX, as Python's json.dumps does). Non-finite numbers, undefined and other
 * non-JSON values are a CompactError. JS numbers have no int/float distinction: an integer is
 * written `4` where Python writes the float 4.0 as `4.0`, and exponents are formatted the JS
 * way; any form parses back to the same value, so only the golden vectors care.
 */
export function styleName(style: unknown): string {
  return canonicalJson(style, 0);
}

/** Nesting bound for styleName (a style is flat; this only stops cycles). */
const MAX_JSON_DEPTH = 64;

function canonicalJson(value: unknown, depth: number): string {
  if (depth > MAX_JSON_DEPTH) throw new CompactError("style is nested too deep (or cyclic)");
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) throw new CompactError(`style holds ${value}, which is not JSON`);
      return JSON.stringify(value);
    case "string":
      return asciiJsonString(value);
    case "object": {
      if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v, depth + 1)).join(",")}]`;
      const keys = Object.keys(value).sort(byCodePoint);
      const record = value as Record<string, unknown>;
      return `{${keys.map((k) => `${asciiJsonString(k)}:${canonicalJson(record[k], depth + 1)}`).join(",")}}`;
    }
    default:
      throw new CompactError(`style holds a ${typeof value}, which is not JSON`);
  }
}

/** JSON string with Python's ensure_ascii: \u escapes (lowercase hex) for 0x7f and beyond. */
function asciiJsonString(text: string): string {
  return JSON.stringify(text).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Python's str ordering (code points), not JS's default (UTF-16 code units). */
function byCodePoint(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let k = 0; k < Math.min(x.length, y.length); k++) {
    const d = x[k].codePointAt(0)! - y[k].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** A style's JSON text back to its value (strict JSON, as JSON.parse is: no NaN or Infinity). */
export function parseStyle(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new CompactError(`style is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

// --- points ----------------------------------------------------------------------------------

/**
 * Points block: varint(n << 1 | has_pressure), n point codes, then n pressure codes (zigzag
 * varints of the pressure deltas, the first against 0). A point code is one byte
 * (rx + 7) * 15 + (ry + 7) when both residuals are within ±7, else 0xFF and two zigzag varints.
 */
export function packPoints(p: readonly number[], pr?: readonly number[]): Uint8Array {
  const n = p.length / 2;
  if (!Number.isInteger(n) || n < 1) throw new CompactError(`a points block needs 1+ points, got ${p.length} values`);
  if (pr !== undefined && pr.length !== n) throw new CompactError(`${pr.length} pressures for ${n} points`);
  const out: number[] = [];
  putVarint(out, n * 2 + (pr !== undefined ? 1 : 0));
  putCodes(out, p);
  if (pr !== undefined) {
    let prev = 0;
    for (const v of pr) {
      putVarint(out, zigzag(v - prev));
      prev = v;
    }
  }
  return Uint8Array.from(out);
}

/** Append the point codes of the flat deltas `p` (even length) to `out`. */
export function putCodes(out: number[], p: readonly number[]): void {
  let px = 0;
  let py = 0;
  for (let k = 0; k < p.length; k += 2) {
    if (!Number.isSafeInteger(p[k]) || !Number.isSafeInteger(p[k + 1])) {
      throw new CompactError(`point ${k / 2} is not a pair of integers`);
    }
    const rx = p[k] - px;
    const ry = p[k + 1] - py;
    px = p[k];
    py = p[k + 1];
    if (Math.abs(rx) <= PAIR_MAX && Math.abs(ry) <= PAIR_MAX) {
      out.push((rx + PAIR_MAX) * PAIR_SPAN + ry + PAIR_MAX);
    } else {
      out.push(ESCAPE);
      putVarint(out, zigzag(rx));
      putVarint(out, zigzag(ry));
    }
  }
}

/** Decode a points block at the reader's position. */
export function readPoints(r: Reader, maxPoints: number): { p: number[]; pr?: number[] } {
  const head = r.varint();
  const n = Math.floor(head / 2);
  if (n === 0 || n > maxPoints) throw new CompactError(`a points block holds 1..${maxPoints} points, not ${n}`);
  const p = readCodes(r, n);
  if (head % 2 === 0) return { p };
  const pr: number[] = [];
  let prev = 0;
  for (let k = 0; k < n; k++) {
    prev += unzigzag(r.varint());
    pr.push(prev);
  }
  return { p, pr };
}

/** Decode `n` point codes at the reader's position, or every code up to the end if `n` < 0. */
export function readCodes(r: Reader, n: number): number[] {
  const p: number[] = [];
  let px = 0;
  let py = 0;
  for (let k = 0; n < 0 ? !r.atEnd() : k < n; k++) {
    const b = r.byte();
    let rx: number;
    let ry: number;
    if (b < PAIR_CODES) {
      rx = Math.floor(b / PAIR_SPAN) - PAIR_MAX;
      ry = (b % PAIR_SPAN) - PAIR_MAX;
    } else if (b === ESCAPE) {
      rx = unzigzag(r.varint());
      ry = unzigzag(r.varint());
    } else {
      throw new CompactError(`reserved point code ${b}`);
    }
    px += rx;
    py += ry;
    p.push(px, py);
  }
  return p;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
