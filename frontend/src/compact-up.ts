/** Protocol v2's client -> server frames: UP_APP, UP_NEXT and UP_ADD (docs/protocol.md §2.5). */
import {
  CompactError,
  concat,
  packPoints,
  parseStyle,
  putCodes,
  putString,
  putVarint,
  readCodes,
  Reader,
  readPoints,
  readString,
  styleName,
  unzigzag,
  UP_ADD,
  UP_APP,
  UP_NEXT,
  zigzag,
} from "./compact-bytes";

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
