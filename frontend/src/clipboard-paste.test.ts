import { describe, expect, it } from "vitest";
import {
  cleanText,
  cloneElements,
  parsePayload,
  Paster,
  PAYLOAD_TYPE,
  refusal,
  type PasteHost,
  type Payload,
} from "./clipboard-paste";
import { applyOp, boundsOf, stateFromElements, type BoardState } from "./ops";
import { DEFAULT_LIMITS, type Element, type Op } from "./protocol";
import type { NewOp } from "./sync";
import { rect, stroke, STYLE } from "./testing";
import { addedEntry, addOps, type UndoEntry } from "./undo";

function run(state: BoardState, ops: readonly NewOp[]): void {
  for (const op of ops) applyOp(state, { ...op, i: 0 } as Op);
}

const arrow = (id: string, sb?: string, eb?: string): Element => {
  const el = { id, type: "arrow", x: 0, y: 0, w: 50, h: 0, style: STYLE } as Element & Record<string, unknown>;
  if (sb) el.sb = { id: sb, fx: 500, fy: 500 };
  if (eb) el.eb = { id: eb, fx: 0, fy: 500 };
  return el;
};

describe("parsePayload", () => {
  it("reads a payload and drops elements it could not draw", () => {
    const text = JSON.stringify({
      type: PAYLOAD_TYPE,
      v: 1,
      nonce: "n1",
      elements: [rect("a"), { id: "b", type: "rect", x: "1", y: 0, style: STYLE }, { id: "c", type: "stroke", x: 0, y: 0, p: [1], style: STYLE }],
    });
    const p = parsePayload(text);
    expect(p?.nonce).toBe("n1");
    expect(p?.elements.map((el) => el.id)).toEqual(["a"]);
  });

  it("refuses text that is not a payload", () => {
    expect(parsePayload("hello")).toBeNull();
    expect(parsePayload('{"type": "other", "elements": []}')).toBeNull();
    expect(parsePayload(`{"type": "${PAYLOAD_TYPE}", "elements": [`)).toBeNull();
    expect(parsePayload(`{"type": "${PAYLOAD_TYPE}", "elements": []}`)).toBeNull();
  });
});

describe("cloneElements", () => {
  it("gives fresh ids, moves, remaps inner bindings, drops outer ones and renames groups", () => {
    const a = { ...rect("a", 0, 0), grp: ["g1", "g2"] } as Element;
    const b = { ...rect("b", 100, 0), grp: ["g1"] } as Element;
    const els = [a, b, arrow("ar", "a", "zz")];
    let n = 0;
    const out = cloneElements(els, 16, -16, () => `n${n++}`) as (Element & Record<string, unknown>)[];
    expect(out.map((el) => el.id)).toEqual(["n0", "n1", "n2"]);
    expect([out[0].x, out[0].y]).toEqual([16, -16]);
    expect(out[2].sb).toEqual({ id: "n0", fx: 500, fy: 500 });
    expect(out[2].eb).toBeUndefined();
    const [g1, g2] = out[0].grp as string[];
    expect(out[1].grp).toEqual([g1]);
    expect(new Set([g1, g2, "g1", "g2"]).size).toBe(4);
    // The originals are untouched.
    expect((els[2] as Element & Record<string, unknown>).eb).toEqual({ id: "zz", fx: 0, fy: 500 });
    expect(a.x).toBe(0);
  });
});

describe("refusal", () => {
  const state = stateFromElements(0, [rect("a"), stroke("s", 0, 0, [0, 0, 1, 1])]);
  it("says which bound a paste would pass", () => {
    const limits = { ...DEFAULT_LIMITS, max_elements: 3 };
    expect(refusal(state, [rect("x")], limits)).toBeNull();
    expect(refusal(state, [rect("x"), rect("y")], limits)).toBe("pasting 2 elements would pass 3 elements, the most a board may have");
    const points = { ...DEFAULT_LIMITS, max_board_points: 3 };
    expect(refusal(state, [stroke("t", 0, 0, [0, 0, 1, 1])], points)).toMatch(/stroke points/);
    const text = { ...DEFAULT_LIMITS, max_board_text_chars: 4 };
    const t: Element = { id: "t", type: "text", x: 0, y: 0, text: "hello", size: 24, style: STYLE };
    expect(refusal(state, [t], text)).toMatch(/characters of text/);
  });
});

describe("cleanText", () => {
  it("unifies newlines and drops what the server refuses", () => {
    expect(cleanText("a\r\nb\rc\u0000d\ud800 \n")).toBe("a\nb\ncd");
    expect(cleanText("x".repeat(20_000)).length).toBe(10_000);
  });
});

describe("Paster", () => {
  function host(state: BoardState, view: [number, number, number, number] = [0, 0, 1000, 1000]) {
    const log = { selected: [] as string[], refused: [] as string[], entries: [] as UndoEntry[] };
    const h: PasteHost = {
      view: () => state,
      limits: () => DEFAULT_LIMITS,
      add: (els) => {
        run(state, addOps(els));
        log.entries.push(addedEntry(els.map((el) => el.id)));
      },
      select: (ids) => (log.selected = ids),
      refuse: (reason) => log.refused.push(reason),
      viewport: () => view,
      toWorld: (sx, sy) => [sx, sy],
      textStyle: () => STYLE,
      textSize: () => 24,
      bounds: boundsOf,
    };
    return { h, log };
  }
  const payload: Payload = { type: PAYLOAD_TYPE, v: 1, nonce: "n", elements: [rect("a", 100, 100, 20, 20)] };

  it("pastes at the pointer, else offset from the originals, cascading while the pointer stays", () => {
    const state = stateFromElements(0, [rect("a", 100, 100, 20, 20)]);
    const { h, log } = host(state);
    const paster = new Paster(h);
    paster.payload(payload, [500, 400], true);
    const first = state.elements.get(log.selected[0])!;
    // Centred on the pointer (the box is 20 wide plus half the stroke width each side).
    expect([first.x, first.y]).toEqual([490, 390]);
    paster.payload(payload, [500, 400], false);
    expect(state.elements.get(log.selected[0])!.x).toBe(506);
    const other: Payload = { ...payload, nonce: "m" };
    paster.payload(other, null, true);
    expect(state.elements.get(log.selected[0])!.x).toBe(116);
    paster.payload(other, null, false);
    paster.payload(other, null, false);
    expect(state.elements.get(log.selected[0])!.x).toBe(148);
    expect(log.entries.length).toBe(5);
    expect(state.elements.size).toBe(6);
  });

  it("centres a paste in the view when the offset would leave it out of sight", () => {
    const state = stateFromElements(0, []);
    const { h, log } = host(state, [5000, 5000, 1000, 1000]);
    new Paster(h).payload(payload, null, true);
    const el = state.elements.get(log.selected[0])!;
    expect([el.x, el.y]).toEqual([5490, 5490]);
  });

  it("refuses a paste the board has no room for, sending nothing", () => {
    const state = stateFromElements(0, [rect("a")]);
    const { h, log } = host(state);
    h.limits = () => ({ ...DEFAULT_LIMITS, max_elements: 1 });
    new Paster(h).payload(payload, null, true);
    expect(log.refused).toEqual(["pasting 1 element would pass 1 elements, the most a board may have"]);
    expect(state.elements.size).toBe(1);
  });

  it("makes plain text a text element and duplicates by 16", () => {
    const state = stateFromElements(0, [rect("a", 0, 0)]);
    const { h, log } = host(state);
    const paster = new Paster(h);
    paster.text("hi\r\nthere", [30, 40]);
    const t = state.elements.get(log.selected[0])!;
    expect([t.type, t.text, t.x, t.y, t.size]).toEqual(["text", "hi\nthere", 30, 40, 24]);
    paster.duplicate([state.elements.get("a")!]);
    const d = state.elements.get(log.selected[0])!;
    expect([d.x, d.y, d.w, d.h]).toEqual([16, 16, 10, 10]);
    paster.text(" \n ", null);
    expect(state.elements.size).toBe(3);
  });
});
