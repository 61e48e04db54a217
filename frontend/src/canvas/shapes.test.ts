import { describe, expect, it } from "vitest";
import { STYLE } from "../testing";
import type { Element } from "../protocol";
import { toolStyle, DEFAULT_PALETTE } from "./palette";
import { dashArray, frameHit, frameLabel, framesFirst } from "./shapes";
import { withRecent, RECENT_MAX } from "../ui/style-panel";

const box = (id: string, type: Element["type"], extra: Partial<Element> = {}): Element => ({
  id, type, x: 0, y: 0, w: 100, h: 50, style: { ...STYLE }, ...extra,
});

describe("shapes", () => {
  it("dash arrays match the export's (board/export/render_shapes.py)", () => {
    expect(dashArray({ ...STYLE, width: 4 })).toEqual([]);
    expect(dashArray({ ...STYLE, width: 4, dash: "dash" })).toEqual([16, 12]);
    expect(dashArray({ ...STYLE, width: 4, dash: "dot" })).toEqual([1, 11]);
  });

  it("paints frames first, each kind in z-order, and leaves a board without frames as it is", () => {
    const els = [box("a", "rect"), box("f1", "frame", { name: "" }), box("b", "note"), box("f2", "frame", { name: "" })];
    expect(framesFirst(els).map((e) => e.id)).toEqual(["f1", "f2", "a", "b"]);
    const plain = [box("a", "rect")];
    expect(framesFirst(plain)).toBe(plain);
  });

  it("hits a frame on its border and its name, not inside", () => {
    const f = box("f", "frame", { w: 200, h: 100, name: "Plan" });
    expect(frameHit(f, 0, 50, 2)).toBe(true);
    expect(frameHit(f, 100, 100, 2)).toBe(true);
    expect(frameHit(f, 100, 50, 2)).toBe(false);
    expect(frameHit(f, 10, -10, 2)).toBe(true);
    expect(frameHit(f, 300, 50, 2)).toBe(false);
    expect(frameLabel("a\r\nb\nc")).toBe("a b c");
  });

  it("gives new elements the panel's style, default values left out", () => {
    expect(toolStyle("rect", DEFAULT_PALETTE)).toEqual({ color: "#1e1e1e", width: 4, opacity: 1, fill: null });
    const p = { ...DEFAULT_PALETTE, dash: "dot" as const, fs: "hatch" as const, font: "mono" as const, opacity: 0.5, fill: "#a5d8ff" };
    expect(toolStyle("diamond", p)).toEqual({ color: "#1e1e1e", width: 4, opacity: 0.5, fill: "#a5d8ff", dash: "dot", fs: "hatch", font: "mono" });
    // A pen stroke takes no fill, pattern or font; a note always has a fill.
    expect(toolStyle("pen", p)).toEqual({ color: "#1e1e1e", width: 4, opacity: 0.5, fill: null, dash: "dot" });
    expect(toolStyle("note", DEFAULT_PALETTE).fill).toBe("#ffec99");
    expect(toolStyle("frame", p)).toEqual({ color: "#868e96", width: 2, opacity: 1, fill: null });
  });

  it("keeps recent colours newest first, once each, at most RECENT_MAX", () => {
    let recent: string[] = [];
    for (let k = 0; k < RECENT_MAX + 2; k++) recent = withRecent(recent, `#00000${k}`);
    expect(recent).toHaveLength(RECENT_MAX);
    expect(recent[0]).toBe("#000009");
    expect(withRecent(recent, "#000005").slice(0, 2)).toEqual(["#000005", "#000009"]);
  });
});
