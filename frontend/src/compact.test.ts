import { readFileSync } from "node:fs";
import { join } from "node:path";
import { encode as mpEncode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import {
  addEntry,
  appEntry,
  CompactError,
  decodeCont,
  decodeDefs,
  decodeDownOps,
  decodeUpAdd,
  decodeUpApp,
  decodeUpNext,
  encodeCont,
  encodeDefs,
  encodeDownOps,
  encodeUpAdd,
  encodeUpApp,
  encodeUpNext,
  nextEntry,
  packPoints,
  parseStyle,
  styleName,
  putVarint,
  Reader,
  readPoints,
  unzigzag,
  v1Entry,
  zigzag,
  type Continuation,
  type Continuations,
  type Definition,
} from "./compact";
import { ProtocolError } from "./protocol";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const unhex = (text: string) => new Uint8Array(Buffer.from(text, "hex"));

function varint(n: number): Uint8Array {
  const out: number[] = [];
  putVarint(out, n);
  return Uint8Array.from(out);
}

describe("varints and zigzag", () => {
  it("encode LEB128 up to 2^53 - 1 and read it back", () => {
    expect(hex(varint(0))).toBe("00");
    expect(hex(varint(127))).toBe("7f");
    expect(hex(varint(128))).toBe("8001");
    expect(hex(varint(300))).toBe("ac02");
    expect(hex(varint(2 ** 53 - 1))).toBe("ffffffffffffff0f");
    for (const n of [0, 1, 127, 128, 16383, 16384, 2 ** 31, 2 ** 32 + 5, 2 ** 53 - 1]) {
      expect(new Reader(varint(n)).varint()).toBe(n);
    }
    expect(() => varint(-1)).toThrow(CompactError);
    expect(() => varint(2 ** 53)).toThrow(CompactError);
    expect(() => varint(1.5)).toThrow(CompactError);
  });

  it("refuses varints past 2^53, longer than 9 bytes, or cut short", () => {
    expect(() => new Reader(unhex("ffffffffffffffff01")).varint()).toThrow(/beyond 2\^53/);
    expect(() => new Reader(unhex("ffffffffffffffffff01")).varint()).toThrow(/too long/);
    expect(() => new Reader(unhex("80")).varint()).toThrow(/truncated/);
  });

  it("zigzags small magnitudes to small numbers", () => {
    expect([0, -1, 1, -2, 2].map(zigzag)).toEqual([0, 1, 2, 3, 4]);
    for (const n of [0, 5, -5, 10_000_000, -20_000_000, 2 ** 51, -(2 ** 51)]) expect(unzigzag(zigzag(n))).toBe(n);
    expect(() => zigzag(2 ** 53)).toThrow(CompactError);
  });
});

describe("points blocks", () => {
  const roundTrip = (p: number[], pr?: number[]) => {
    const r = new Reader(packPoints(p, pr));
    const got = readPoints(r, 1024);
    expect(r.atEnd()).toBe(true);
    return got;
  };

  it("round-trip with and without pressure, escapes included", () => {
    expect(roundTrip([4, 2, 5, 2, 5, 3])).toEqual({ p: [4, 2, 5, 2, 5, 3] });
    expect(roundTrip([4, 2, 5, 2, 5, 3], [48, 50, 51])).toEqual({ p: [4, 2, 5, 2, 5, 3], pr: [48, 50, 51] });
    const wild = [7, -7, -7, 7, 8, -8, 10_000_000, -10_000_000, -10_000_000, 10_000_000, 0, 0];
    expect(roundTrip(wild, [0, 100, 0, 100, 50, 50])).toEqual({ p: wild, pr: [0, 100, 0, 100, 50, 50] });
  });

  it("spend one byte per smooth point and escape the rest", () => {
    // Deltas (1,0) (1,1) (1,2): residuals (1,0) (0,1) (0,1), codes (r + 7) * 15 + (r' + 7).
    expect(hex(packPoints([1, 0, 1, 1, 1, 2]))).toBe("06" + "7f" + "71" + "71");
    expect(hex(packPoints([8, 0]))).toBe("02ff1000");
  });

  it("refuse what the wire cannot carry", () => {
    expect(() => packPoints([])).toThrow(CompactError);
    expect(() => packPoints([1, 2, 3])).toThrow(CompactError);
    expect(() => packPoints([1, 2], [1, 2])).toThrow(CompactError);
    expect(() => packPoints([1.5, 2])).toThrow(CompactError);
    expect(() => readPoints(new Reader(packPoints([1, 1, 2, 2])), 1)).toThrow(/1\.\.1 points/);
  });
});

describe("frames", () => {
  it("UP_APP round-trips a large op id", () => {
    const frame = encodeUpApp(2 ** 53 - 1, [1, 1], [50]);
    expect(frame[0]).toBe(0x01);
    expect(decodeUpApp(frame, 1024)).toEqual({ i: 2 ** 53 - 1, p: [1, 1], pr: [50] });
  });

  it("DOWN_OPS applies its inline definitions, then rebuilds v1 entries", () => {
    const names = new Map<number, string>([[0, "old"]]);
    const v1 = { s: 7, c: "x", u: 1, i: 3, k: "del", ids: ["a"] };
    const frame = encodeDownOps(7, [[0, "me"], [1, "stroke1"]], [
      v1Entry(mpEncode(v1)),
      appEntry(0, 4, 1, packPoints([1, 1])),
      appEntry(0, 5, 1, packPoints([2, 2], [30])),
    ]);
    expect(decodeDownOps(frame, names)).toEqual({
      first: 7,
      entries: [
        v1,
        { s: 8, c: "me", i: 4, k: "app", id: "stroke1", p: [1, 1] },
        { s: 9, c: "me", i: 5, k: "app", id: "stroke1", p: [2, 2], pr: [30] },
      ],
    });
    expect([...names]).toEqual([[0, "me"], [1, "stroke1"]]);
  });

  it("UP_ADD carries id, coordinates, the style text (\"\" for null) and the points", () => {
    const style = { width: 4, color: "#1e1e1e", fill: null, opacity: 1 };
    const frame = encodeUpAdd(41, "q3Zr8aPc", 120, -80, style, [0, 0, 3, 1], [40, 44]);
    expect(frame[0]).toBe(0x04);
    expect(decodeUpAdd(frame, 1024)).toEqual({ i: 41, id: "q3Zr8aPc", x: 120, y: -80, style, p: [0, 0, 3, 1], pr: [40, 44] });
    const again = encodeUpAdd(42, "s", 0, 0, null, [0, 0]);
    expect(hex(again)).toBe("042a0173" + "0000" + "00" + "0270");
    expect(decodeUpAdd(again, 1024)).toEqual({ i: 42, id: "s", x: 0, y: 0, style: null, p: [0, 0] });
  });

  it("UP_ADD refuses what the wire cannot carry", () => {
    const style = { color: "#1e1e1e", width: 4, opacity: 1, fill: null };
    expect(() => encodeUpAdd(1, "s", 0.5, 0, style, [0, 0])).toThrow(CompactError);
    expect(() => encodeUpAdd(1, "s", 0, 0, { ...style, width: NaN }, [0, 0])).toThrow(/not JSON/);
    expect(() => encodeUpAdd(1, "s", 0, 0, { ...style, fill: undefined }, [0, 0])).toThrow(/undefined/);
    expect(() => encodeUpAdd(1, "s", 0, 0, style, [])).toThrow(CompactError);
    expect(() => encodeUpAdd(1, 7 as unknown as string, 0, 0, style, [0, 0])).toThrow(CompactError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => styleName(cyclic)).toThrow(CompactError);
  });

  it("styles are named by canonical JSON: sorted keys, no spaces, ASCII", () => {
    expect(styleName({ width: 4, color: "#1e1e1e", opacity: 1, fill: null })).toBe(
      '{"color":"#1e1e1e","fill":null,"opacity":1,"width":4}',
    );
    expect(styleName({ b: [1, { d: 0, c: true }], a: "é🖊\u007f" })).toBe(
      '{"a":"\\u00e9\\ud83d\\udd8a\\u007f","b":[1,{"c":true,"d":0}]}',
    );
    // Code point order, as Python sorts: U+FF61 before U+1F58A (JS's default puts it after).
    expect(styleName({ "\uff61": 1, "🖊": 2 })).toBe('{"\\uff61":1,"\\ud83d\\udd8a":2}');
    expect(parseStyle('{"a":"\\u00e9"}')).toEqual({ a: "é" });
    expect(() => parseStyle("NaN")).toThrow(/style is not JSON/);
    expect(() => parseStyle("")).toThrow(CompactError);
  });

  it("DOWN_OPS rebuilds tag-2 entries as v1 stroke adds, the style parsed from its handle", () => {
    const style = { color: "#1e1e1e", fill: null, opacity: 1, width: 4 };
    const names = new Map<number, string>([[2, styleName(style)]]);
    const frame = encodeDownOps(907, [[0, "me"], [1, "s"]], [
      addEntry(0, 41, 1, 120, -80, 2, packPoints([0, 0, 3, 1], [40, 44])),
      addEntry(0, 42, 1, -1, 0, 2, packPoints([0, 0])),
    ]);
    expect(decodeDownOps(frame, names)).toEqual({
      first: 907,
      entries: [
        { s: 907, c: "me", i: 41, k: "add", el: { id: "s", type: "stroke", x: 120, y: -80, style, p: [0, 0, 3, 1], pr: [40, 44] } },
        { s: 908, c: "me", i: 42, k: "add", el: { id: "s", type: "stroke", x: -1, y: 0, style, p: [0, 0] } },
      ],
    });
    // Each entry gets its own style object (elements are values; `upd` makes copies anyway).
    const { entries } = decodeDownOps(frame, names);
    const [a, b] = entries as { el: { style: object } }[];
    expect(a.el.style).not.toBe(b.el.style);
    // A style handle whose name is JSON but not an object is refused (the reference takes it).
    names.set(3, "[1,2]");
    names.set(4, "null");
    for (const h of [3, 4]) {
      expect(() => decodeDownOps(encodeDownOps(1, [], [addEntry(0, 1, 1, 0, 0, h, packPoints([0, 0]))]), names)).toThrow(
        /not a JSON object/,
      );
    }
  });

  it("DEFS keeps names byte-exact (UTF-8, a leading BOM is text)", () => {
    const defs: Definition[] = [[1, "\ufeffé"], [2, "🖊"], [3, ""]];
    expect(decodeDefs(encodeDefs(defs))).toEqual(defs);
  });

  it("malformed frames are CompactErrors (ProtocolErrors), never garbage", () => {
    const names = new Map<number, string>();
    const entry = (bytes: number[]) => decodeDownOps(Uint8Array.from([2, 1, 0, 1, ...bytes]), names);
    expect(() => entry([0, 1, 0x01])).toThrow(/v1 entry is not a map/);
    expect(() => entry([0, 1, 0xc1])).toThrow(/undecodable v1 entry/);
    expect(() => entry([0, 2, 0x80, 0x00])).toThrow(/undecodable v1 entry/);
    expect(() => entry([1, 0, 1, 0, 2, 0x70])).toThrow(/undefined handle 0/);
    expect(() => decodeDefs(Uint8Array.from([2, 0]))).toThrow(/not a DEFS frame/);
    expect(() => decodeDownOps(new Uint8Array(0), names)).toThrow(CompactError);
    expect(() => decodeUpApp(Uint8Array.from([1, 1, 2, 225]), 1024)).toThrow(ProtocolError);
  });
});

// --- golden vectors made by realtime/wire/compact.py -----------------------------------------------

interface AddVector {
  author: number;
  i: number;
  element: number;
  x: number;
  y: number;
  style: number;
  p: number[];
  pr: number[] | null;
}

interface Vectors {
  max_points_per_op: number;
  up_app: { name: string; i: number; p: number[]; pr: number[] | null; hex: string }[];
  up_next: { name: string; p: number[]; hex: string }[];
  up_add: {
    name: string;
    i: number;
    id: string;
    x: number;
    y: number;
    style: unknown;
    style_text: string;
    p: number[];
    pr: number[] | null;
    hex: string;
  }[];
  defs: { name: string; defs: Definition[]; hex: string }[];
  cont: { name: string; conts: Continuation[]; hex: string }[];
  malformed_conts: Continuation[];
  down_ops: {
    name: string;
    names_before: Definition[];
    first: number;
    defs: Definition[];
    entries: (
      | { v1: string }
      | { app: { author: number; i: number; element: number; p: number[]; pr: number[] | null } }
      | { next: { author: number; p: number[]; pr: number[] | null } }
      | { add: AddVector }
    )[];
    hex: string;
    decoded: { first: number; entries: Record<string, unknown>[] };
    names_after: Definition[];
    conts_before: Continuation[];
    conts_after: Continuation[];
  }[];
  malformed: {
    name: string;
    frame: "up_app" | "up_next" | "up_add" | "defs" | "cont" | "down_ops";
    hex: string;
    names: Definition[];
  }[];
}

const VECTORS = join(import.meta.dirname, "..", "..", "tests", "fixtures", "protocol", "v2", "compact_vectors.json");
const vectors = JSON.parse(readFileSync(VECTORS, "utf8")) as Vectors;
const named = <T extends { name: string }>(cases: T[]) => cases.map((c) => [c.name, c] as const);
const contsOf = (list: Continuation[]): Continuations => new Map(list.map(([a, i, element]) => [a, { i, element }]));

describe("golden vectors (realtime/wire/compact.py)", () => {
  it.each(named(vectors.up_app))("UP_APP %s: same bytes, same op back", (_name, c) => {
    const frame = encodeUpApp(c.i, c.p, c.pr ?? undefined);
    expect(hex(frame)).toBe(c.hex);
    expect(decodeUpApp(unhex(c.hex), vectors.max_points_per_op)).toEqual({ i: c.i, p: c.p, ...(c.pr ? { pr: c.pr } : {}) });
  });

  it.each(named(vectors.up_next))("UP_NEXT %s: same bytes, same points back", (_name, c) => {
    expect(hex(encodeUpNext(c.p))).toBe(c.hex);
    expect(decodeUpNext(unhex(c.hex), vectors.max_points_per_op)).toEqual({ p: c.p });
  });

  it.each(named(vectors.up_add))("UP_ADD %s: same bytes, same op back", (_name, c) => {
    expect(c.style === null ? "" : styleName(c.style)).toBe(c.style_text);
    expect(hex(encodeUpAdd(c.i, c.id, c.x, c.y, c.style, c.p, c.pr ?? undefined))).toBe(c.hex);
    expect(decodeUpAdd(unhex(c.hex), vectors.max_points_per_op)).toEqual({
      i: c.i,
      id: c.id,
      x: c.x,
      y: c.y,
      style: c.style,
      p: c.p,
      ...(c.pr ? { pr: c.pr } : {}),
    });
  });

  it("covers UP_ADD with and without a style and pressure, and tag-2 entries", () => {
    const kinds = new Set(vectors.up_add.map((c) => `${c.style === null ? "repeat" : "style"}/${c.pr ? "pr" : "nopr"}`));
    expect([...kinds].sort()).toEqual(["repeat/nopr", "repeat/pr", "style/nopr", "style/pr"]);
    const tags = vectors.down_ops.flatMap((c) => c.entries.map((e) => Object.keys(e)[0]));
    expect(new Set(tags)).toEqual(new Set(["v1", "app", "next", "add"]));
    expect(new Set(vectors.malformed.map((c) => c.frame))).toEqual(new Set(["up_app", "up_next", "up_add", "defs", "cont", "down_ops"]));
  });

  it.each(named(vectors.defs))("DEFS %s: same bytes, same definitions back", (_name, c) => {
    expect(hex(encodeDefs(c.defs))).toBe(c.hex);
    expect(decodeDefs(unhex(c.hex))).toEqual(c.defs);
  });

  it.each(named(vectors.down_ops))("DOWN_OPS %s: same bytes, same entries back", (_name, c) => {
    const entries = c.entries.map((e) => {
      if ("v1" in e) return v1Entry(unhex(e.v1));
      if ("app" in e) return appEntry(e.app.author, e.app.i, e.app.element, packPoints(e.app.p, e.app.pr ?? undefined));
      if ("next" in e) return nextEntry(e.next.author, packPoints(e.next.p, e.next.pr ?? undefined));
      const a = e.add;
      return addEntry(a.author, a.i, a.element, a.x, a.y, a.style, packPoints(a.p, a.pr ?? undefined));
    });
    expect(hex(encodeDownOps(c.first, c.defs, entries))).toBe(c.hex);
    const names = new Map(c.names_before);
    const conts = contsOf(c.conts_before);
    expect(decodeDownOps(unhex(c.hex), names, conts)).toEqual(c.decoded);
    expect([...names].sort((a, b) => a[0] - b[0])).toEqual(c.names_after);
    expect([...conts].map(([a, { i, element }]) => [a, i, element]).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual(
      c.conts_after,
    );
  });

  it.each(named(vectors.cont))("CONT %s: same bytes, same continuations back", (_name, c) => {
    expect(hex(encodeCont(c.conts))).toBe(c.hex);
    expect(decodeCont(unhex(c.hex))).toEqual(c.conts);
  });

  it.each(named(vectors.malformed))("refuses %s like the reference", (_name, c) => {
    const data = unhex(c.hex);
    const decoders = {
      up_app: () => decodeUpApp(data, vectors.max_points_per_op),
      up_next: () => decodeUpNext(data, vectors.max_points_per_op),
      up_add: () => decodeUpAdd(data, vectors.max_points_per_op),
      defs: () => decodeDefs(data),
      cont: () => decodeCont(data),
      down_ops: () => decodeDownOps(data, new Map(c.names), contsOf(vectors.malformed_conts)),
    };
    expect(decoders[c.frame]).toThrow(CompactError);
  });
});
