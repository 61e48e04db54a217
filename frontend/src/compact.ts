/**
 * The compact frames of protocol v2 (docs/protocol.md §2.5): stroke adds and appends at about
 * one byte per point. Pure codec, no I/O; byte for byte the same as the reference
 * realtime/wire/compact.py (tests/fixtures/protocol/v2/compact_vectors.json holds vectors made by it).
 *
 * A v1 `app` op is mostly envelope (map keys, element id, author id, seq), and a stroke `add`
 * about 90 bytes. v2 sends both as varints plus packed points and names authors, elements and
 * styles (by their JSON text) with per-connection handles. Points
 * are the v1 flat deltas [dx0, dy0, dx1, dy1, ...]; each is coded as its residual from the
 * previous delta (constant-velocity prediction), so a smooth stroke's pair fits one byte.
 *
 * Numbers are JS numbers: values beyond 2^53 (never legal on this wire) are refused rather than
 * silently rounded, where Python would accept them.
 */
import { decode as mpDecode } from "@msgpack/msgpack";
import { ProtocolError, type AddOp, type AppendOp, type Element, type LogEntry, type Style } from "./protocol";

/** First byte of each compact frame; none is a msgpack map prefix (0x80-0x8f, 0xde, 0xdf). */
export const UP_APP = 0x01;
export const DOWN_OPS = 0x02;
export const DOWN_DEFS = 0x03;
export const UP_ADD = 0x04;
export const UP_NEXT = 0x05;
export const DOWN_CONT = 0x06;
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

function readString(r: Reader): string {
  const raw = r.take(r.varint());
  try {
    return utf8Decoder.decode(raw);
  } catch {
    throw new CompactError("a string is not UTF-8");
  }
}

function putString(out: number[], text: string): void {
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
function putCodes(out: number[], p: readonly number[]): void {
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
function readCodes(r: Reader, n: number): number[] {
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

// --- client -> server ------------------------------------------------------------------------

/** UP_APP frame: 0x01, varint(i), points block. The op's `id` is the connection's current stroke. */
export function encodeUpApp(i: number, p: readonly number[], pr?: readonly number[]): Uint8Array {
  const head: number[] = [UP_APP];
  putVarint(head, i);
  return concat([Uint8Array.from(head), packPoints(p, pr)]);
}

/** The server's half, for tests and fakes: (i, points) of an UP_APP frame. */
export function decodeUpApp(data: Uint8Array, maxPoints: number): { i: number; p: number[]; pr?: number[] } {
  if (data[0] !== UP_APP) throw new CompactError("not an UP_APP frame");
  const r = new Reader(data, 1);
  const i = r.varint();
  const points = readPoints(r, maxPoints);
  if (!r.atEnd()) throw new CompactError("trailing bytes after the points");
  return { i, ...points };
}

/**
 * UP_NEXT frame: 0x05, then the point codes to the end of the frame. The op is an `app` without
 * pressure, numbered one after the connection's last op, on its current stroke.
 */
export function encodeUpNext(p: readonly number[]): Uint8Array {
  const n = p.length / 2;
  if (!Number.isInteger(n) || n < 1) throw new CompactError(`UP_NEXT needs 1+ points, got ${p.length} values`);
  const out: number[] = [UP_NEXT];
  putCodes(out, p);
  return Uint8Array.from(out);
}

/** The server's half, for tests and fakes: the points of an UP_NEXT frame. */
export function decodeUpNext(data: Uint8Array, maxPoints: number): { p: number[] } {
  if (data[0] !== UP_NEXT) throw new CompactError("not an UP_NEXT frame");
  const p = readCodes(new Reader(data, 1), -1);
  const n = p.length / 2;
  if (n === 0 || n > maxPoints) throw new CompactError(`an UP_NEXT frame holds 1..${maxPoints} points, not ${n}`);
  return { p };
}

/** A decoded UP_ADD frame: a stroke `add`; `style` null means the connection's previous one. */
export interface UpAdd {
  i: number;
  id: string;
  x: number;
  y: number;
  style: unknown;
  p: number[];
  pr?: number[];
}

/**
 * UP_ADD frame: 0x04, varint(i), string(id), varint(zigzag(x)), varint(zigzag(y)),
 * string(style JSON text, or "" for null: the connection's previous UP_ADD's style), points.
 */
export function encodeUpAdd(
  i: number,
  id: string,
  x: number,
  y: number,
  style: unknown,
  p: readonly number[],
  pr?: readonly number[],
): Uint8Array {
  if (typeof id !== "string") throw new CompactError("a stroke id is a string");
  const head: number[] = [UP_ADD];
  putVarint(head, i);
  putString(head, id);
  putVarint(head, zigzag(x));
  putVarint(head, zigzag(y));
  putString(head, style === null ? "" : styleName(style));
  return concat([Uint8Array.from(head), packPoints(p, pr)]);
}

/** The server's half, for tests and fakes: the fields of an UP_ADD frame. */
export function decodeUpAdd(data: Uint8Array, maxPoints: number): UpAdd {
  if (data[0] !== UP_ADD) throw new CompactError("not an UP_ADD frame");
  const r = new Reader(data, 1);
  const i = r.varint();
  const id = readString(r);
  const x = unzigzag(r.varint());
  const y = unzigzag(r.varint());
  const text = readString(r);
  const style = text === "" ? null : parseStyle(text);
  const points = readPoints(r, maxPoints);
  if (!r.atEnd()) throw new CompactError("trailing bytes after the points");
  return { i, id, x, y, style, ...points };
}

// --- server -> client ------------------------------------------------------------------------

export type Definition = [handle: number, name: string];

function putDefs(out: number[], defs: readonly Definition[]): void {
  putVarint(out, defs.length);
  for (const [handle, name] of defs) {
    putVarint(out, handle);
    putString(out, name);
  }
}

function readDefs(r: Reader): Definition[] {
  const defs: Definition[] = [];
  for (let k = r.varint(); k > 0; k--) {
    const handle = r.varint();
    defs.push([handle, readString(r)]);
  }
  return defs;
}

/** DEFS frame: 0x03, varint(n), n x (varint(handle), varint(len), UTF-8). */
export function encodeDefs(defs: readonly Definition[]): Uint8Array {
  const out: number[] = [DOWN_DEFS];
  putDefs(out, defs);
  return Uint8Array.from(out);
}

/** The definitions of a DEFS frame, in frame order (a later one for a handle wins). */
export function decodeDefs(data: Uint8Array): Definition[] {
  if (data[0] !== DOWN_DEFS) throw new CompactError("not a DEFS frame");
  const r = new Reader(data, 1);
  const defs = readDefs(r);
  if (!r.atEnd()) throw new CompactError("trailing bytes after the definitions");
  return defs;
}

/**
 * Author handle -> the op id and element of its last stroke entry (tag 1, 2 or 3): what a tag-3
 * entry continues. A definition of the handle (inline or DEFS) clears it.
 */
export type Continuations = Map<number, { i: number; element: string }>;
export type Continuation = [author: number, i: number, element: string];

/** CONT frame: 0x06, varint(n), n x (varint(author), varint(i), string(element)). */
export function encodeCont(conts: readonly Continuation[]): Uint8Array {
  const out: number[] = [DOWN_CONT];
  putVarint(out, conts.length);
  for (const [author, i, element] of conts) {
    putVarint(out, author);
    putVarint(out, i);
    putString(out, element);
  }
  return Uint8Array.from(out);
}

/** The continuations of a CONT frame, in frame order. */
export function decodeCont(data: Uint8Array): Continuation[] {
  if (data[0] !== DOWN_CONT) throw new CompactError("not a CONT frame");
  const r = new Reader(data, 1);
  const out: Continuation[] = [];
  for (let k = r.varint(); k > 0; k--) {
    const author = r.varint();
    const i = r.varint();
    out.push([author, i, readString(r)]);
  }
  if (!r.atEnd()) throw new CompactError("trailing bytes after the continuations");
  return out;
}

/** A DOWN_OPS entry carried as its v1 msgpack bytes: tag 0, varint(len), the bytes. */
export function v1Entry(entry: Uint8Array): Uint8Array {
  const head: number[] = [ENTRY_V1];
  putVarint(head, entry.length);
  return concat([Uint8Array.from(head), entry]);
}

/** A stroke append entry: tag 1, varint(author), varint(i), varint(element), points block. */
export function appEntry(author: number, i: number, element: number, points: Uint8Array): Uint8Array {
  const head: number[] = [ENTRY_APP];
  putVarint(head, author);
  putVarint(head, i);
  putVarint(head, element);
  return concat([Uint8Array.from(head), points]);
}

/** A stroke append continuing its author's last stroke entry: tag 3, varint(author), points. */
export function nextEntry(author: number, points: Uint8Array): Uint8Array {
  const head: number[] = [ENTRY_NEXT];
  putVarint(head, author);
  return concat([Uint8Array.from(head), points]);
}

/**
 * A stroke add entry: tag 2, varint(author), varint(i), varint(element), varint(zigzag(x)),
 * varint(zigzag(y)), varint(style handle: its name is the style's JSON text), points block.
 */
export function addEntry(
  author: number,
  i: number,
  element: number,
  x: number,
  y: number,
  style: number,
  points: Uint8Array,
): Uint8Array {
  const head: number[] = [ENTRY_ADD];
  for (const n of [author, i, element, zigzag(x), zigzag(y), style]) putVarint(head, n);
  return concat([Uint8Array.from(head), points]);
}

/** DOWN_OPS frame: 0x02, varint(first seq), inline definitions, varint(n), n entries. */
export function encodeDownOps(first: number, defs: readonly Definition[], entries: readonly Uint8Array[]): Uint8Array {
  const head: number[] = [DOWN_OPS];
  putVarint(head, first);
  putDefs(head, defs);
  putVarint(head, entries.length);
  return concat([Uint8Array.from(head), ...entries]);
}

/** An `app` entry rebuilt from a tag-1 entry: v1-shaped, without `u`. */
export type CompactAppEntry = AppendOp & { s: number; c: string };
/** An `add` entry rebuilt from a tag-2 entry: v1-shaped, without `u`. */
export type CompactAddEntry = AddOp & { s: number; c: string };

/**
 * Decode a DOWN_OPS frame into v1 entries. Its inline definitions are applied to `names`
 * (handle -> name, this connection's table) first, as read: the server counts them as known
 * from here on, even if something after them turns out malformed. `conts` (this connection's
 * continuations) is kept up to date and resolves tag-3 entries.
 */
export function decodeDownOps(
  data: Uint8Array,
  names: Map<number, string>,
  conts: Continuations = new Map(),
  maxPoints = DEFAULT_MAX_POINTS,
): { first: number; entries: LogEntry[] } {
  if (data[0] !== DOWN_OPS) throw new CompactError("not a DOWN_OPS frame");
  const r = new Reader(data, 1);
  const first = r.varint();
  for (const [handle, name] of readDefs(r)) {
    names.set(handle, name);
    conts.delete(handle);
  }
  const name = (handle: number): string => {
    const value = names.get(handle);
    if (value === undefined) throw new CompactError(`undefined handle ${handle}`);
    return value;
  };
  const entries: LogEntry[] = [];
  const n = r.varint();
  for (let k = 0; k < n; k++) {
    const tag = r.byte();
    if (tag === ENTRY_V1) {
      entries.push(decodeV1Entry(r.take(r.varint())));
    } else if (tag === ENTRY_APP || tag === ENTRY_NEXT) {
      const author = r.varint();
      let i: number;
      let element: string;
      if (tag === ENTRY_APP) {
        i = r.varint();
        element = name(r.varint());
      } else {
        const cont = conts.get(author);
        if (cont === undefined) throw new CompactError(`no stroke entry to continue for handle ${author}`);
        i = cont.i + 1;
        element = cont.element;
      }
      const { p, pr } = readPoints(r, maxPoints);
      const entry: CompactAppEntry = { s: first + k, c: name(author), i, k: "app", id: element, p };
      if (pr !== undefined) entry.pr = pr;
      conts.set(author, { i, element });
      entries.push(entry);
    } else if (tag === ENTRY_ADD) {
      const author = r.varint();
      const i = r.varint();
      const element = r.varint();
      const x = unzigzag(r.varint());
      const y = unzigzag(r.varint());
      const style = r.varint();
      const { p, pr } = readPoints(r, maxPoints);
      const el: Element = { id: name(element), type: "stroke", x, y, style: entryStyle(name(style)), p };
      if (pr !== undefined) el.pr = pr;
      const entry: CompactAddEntry = { s: first + k, c: name(author), i, k: "add", el };
      conts.set(author, { i, element: el.id });
      entries.push(entry);
    } else {
      throw new CompactError(`unknown entry tag ${tag}`);
    }
  }
  if (!r.atEnd()) throw new CompactError("trailing bytes after the entries");
  return { first, entries };
}

/**
 * The style of a tag-2 entry. Stricter than the reference, which takes any JSON: the element
 * would carry it as its style map (§3.1), so anything else is refused here, not rendered.
 */
function entryStyle(text: string): Style {
  const style = parseStyle(text);
  if (typeof style !== "object" || style === null || Array.isArray(style)) {
    throw new CompactError("a stroke's style is not a JSON object");
  }
  return style as Style;
}

function decodeV1Entry(bytes: Uint8Array): LogEntry {
  let value: unknown;
  try {
    value = mpDecode(bytes, { useBigInt64: false });
  } catch (err) {
    throw new CompactError(`undecodable v1 entry: ${String(err)}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CompactError("a v1 entry is not a map");
  }
  return value as LogEntry;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
