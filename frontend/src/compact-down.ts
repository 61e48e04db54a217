/**
 * Protocol v2's server -> client frames: DOWN_OPS, DEFS and CONT (docs/protocol.md §2.5), and
 * with `tentative=2` DOWN_TENT and DOWN_PROMOTE (§2.6).
 */
import { decode as mpDecode } from "@msgpack/msgpack";
import type { Element, LogEntry, Style, TentativeOp } from "./protocol";
import {
  CompactError,
  concat,
  DEFAULT_MAX_POINTS,
  DOWN_CONT,
  DOWN_DEFS,
  DOWN_OPS,
  DOWN_PROMOTE,
  DOWN_TENT,
  ENTRY_ADD,
  ENTRY_APP,
  ENTRY_NEXT,
  ENTRY_V1,
  parseStyle,
  putString,
  putVarint,
  Reader,
  readPoints,
  readString,
  unzigzag,
  zigzag,
} from "./compact-bytes";

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
  readDefsInto(r, names, conts);
  const entries: LogEntry[] = [];
  const n = r.varint();
  for (let k = 0; k < n; k++) entries.push(readEntry(r, names, conts, maxPoints, first + k) as LogEntry);
  if (!r.atEnd()) throw new CompactError("trailing bytes after the entries");
  return { first, entries };
}

/** DOWN_TENT frame: 0x07, inline definitions, varint(n), n entries without seqs. */
export function encodeDownTent(defs: readonly Definition[], entries: readonly Uint8Array[]): Uint8Array {
  const head: number[] = [DOWN_TENT];
  putDefs(head, defs);
  putVarint(head, entries.length);
  return concat([Uint8Array.from(head), ...entries]);
}

/**
 * Decode a DOWN_TENT frame (§2.6, `tentative=2`) into its ops, each with `c` and without `s` (a
 * tag-0 op also has `u`), through and into this connection's `names` and `conts`, as a DOWN_OPS
 * frame.
 */
export function decodeDownTent(
  data: Uint8Array,
  names: Map<number, string>,
  conts: Continuations = new Map(),
  maxPoints = DEFAULT_MAX_POINTS,
): TentativeOp[] {
  if (data[0] !== DOWN_TENT) throw new CompactError("not a DOWN_TENT frame");
  const r = new Reader(data, 1);
  readDefsInto(r, names, conts);
  const ops: TentativeOp[] = [];
  const n = r.varint();
  for (let k = 0; k < n; k++) {
    const op = readEntry(r, names, conts, maxPoints, null);
    if ("s" in op || typeof op.c !== "string") throw new CompactError("a tentative op has `c` and no `s`");
    ops.push(op as TentativeOp);
  }
  if (!r.atEnd()) throw new CompactError("trailing bytes after the entries");
  return ops;
}

/** DOWN_PROMOTE frame: 0x08, varint(first seq), varint(n). */
export function encodePromote(first: number, n: number): Uint8Array {
  const out: number[] = [DOWN_PROMOTE];
  putVarint(out, first);
  putVarint(out, n);
  return Uint8Array.from(out);
}

/** The first seq and count of a DOWN_PROMOTE frame. */
export function decodePromote(data: Uint8Array): { first: number; n: number } {
  if (data[0] !== DOWN_PROMOTE) throw new CompactError("not a DOWN_PROMOTE frame");
  const r = new Reader(data, 1);
  const first = r.varint();
  const n = r.varint();
  if (!r.atEnd()) throw new CompactError("trailing bytes after the count");
  return { first, n };
}

function readDefsInto(r: Reader, names: Map<number, string>, conts: Continuations): void {
  for (const [handle, name] of readDefs(r)) {
    names.set(handle, name);
    conts.delete(handle);
  }
}

/** One entry of a DOWN_OPS frame (`seq`: its `s`) or of a DOWN_TENT frame (null: no `s`). */
function readEntry(
  r: Reader,
  names: Map<number, string>,
  conts: Continuations,
  maxPoints: number,
  seq: number | null,
): Record<string, unknown> {
  const name = (handle: number): string => {
    const value = names.get(handle);
    if (value === undefined) throw new CompactError(`undefined handle ${handle}`);
    return value;
  };
  const head = seq === null ? {} : { s: seq };
  const tag = r.byte();
  if (tag === ENTRY_V1) return decodeV1Entry(r.take(r.varint())) as unknown as Record<string, unknown>;
  if (tag === ENTRY_APP || tag === ENTRY_NEXT) {
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
    const entry: Record<string, unknown> = { ...head, c: name(author), i, k: "app", id: element, p };
    if (pr !== undefined) entry.pr = pr;
    conts.set(author, { i, element });
    return entry;
  }
  if (tag === ENTRY_ADD) {
    const author = r.varint();
    const i = r.varint();
    const element = r.varint();
    const x = unzigzag(r.varint());
    const y = unzigzag(r.varint());
    const style = r.varint();
    const { p, pr } = readPoints(r, maxPoints);
    const el: Element = { id: name(element), type: "stroke", x, y, style: entryStyle(name(style)), p };
    if (pr !== undefined) el.pr = pr;
    conts.set(author, { i, element: el.id });
    return { ...head, c: name(author), i, k: "add", el };
  }
  throw new CompactError(`unknown entry tag ${tag}`);
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

