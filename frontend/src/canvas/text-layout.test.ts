import { describe, expect, it } from "vitest";
import { elementBounds } from "../ops";
import type { Element } from "../protocol";
import { drawLabel, drawText, labelFrame, textFrame } from "./text-draw";
import { labelWidth, layoutLines, lineWidth, wrapParagraph } from "./text-layout";
import { TextTool } from "./text-tool";
import type { ToolHost } from "./tool";
import type { TextTarget } from "./text-tool";

const STYLE = { color: "#1e1e1e", width: 2, opacity: 1, fill: null };
const text = (fields: Partial<Element> = {}): Element => ({ id: "t", type: "text", x: 10, y: 20, text: "hi", size: 20, style: STYLE, ...fields });
const rect = (fields: Partial<Element> = {}): Element => ({ id: "r", type: "rect", x: 0, y: 0, w: 200, h: 100, style: STYLE, ...fields });

/** A 2D context recording fillText calls with the alignment in force. */
function recorder() {
  const calls: [string, number, number, string][] = [];
  const ctx = { textAlign: "left", fillText: (t: string, x: number, y: number) => calls.push([t, x, y, ctx.textAlign]) };
  return { ctx: ctx as unknown as CanvasRenderingContext2D, calls };
}

describe("text layout", () => {
  it("wraps at spaces and cuts a word too long for the line", () => {
    const one = lineWidth("aaaa", 20, "sans");
    expect(wrapParagraph("aaaa aaaa aaaa", 20, 100, "sans")).toEqual(["aaaa aaaa", "aaaa"]);
    expect(wrapParagraph("aaaa", 20, Math.floor(one), "sans")).toEqual(["aaa", "a"]);
    expect(wrapParagraph("x", 20, 1, "sans")).toEqual(["x"]);
    expect(layoutLines("a\r\nb\rc", 20, undefined, "hand")).toEqual(["a", "b", "c"]);
    // Code points, not UTF-16 units: an emoji is never cut in half.
    expect(wrapParagraph("🙂🙂🙂", 20, 25, "sans")).toEqual(["🙂", "🙂", "🙂"]);
  });

  it("sizes a text's box by its wrap width and its lines", () => {
    const el = text({ text: "one two three four", w: 60 });
    const lines = layoutLines("one two three four", 20, 60, "hand");
    expect(lines.length).toBeGreaterThan(1);
    expect(elementBounds(el)).toEqual({ minX: 10, minY: 20, maxX: 70, maxY: 20 + lines.length * 25 });
  });

  it("draws a text aligned in its wrap width and a label centred in its shape", () => {
    const { ctx, calls } = recorder();
    drawText(ctx, text({ w: 100, align: "right" }));
    expect(calls).toEqual([["hi", 110, 20, "right"]]);
    calls.length = 0;
    const labelled = rect({ text: "Label", size: 20 });
    drawLabel(ctx, labelled);
    // One line of 25 units centred in 100: its top at 37.5, x the shape's centre.
    expect(calls).toEqual([["Label", 100, 37.5, "center"]]);
    expect(labelWidth(labelled)).toBe(184);
    expect(labelFrame({ ...labelled, type: "ellipse" }).width).toBe(140);
    expect(textFrame(text()).align).toBe("left");
  });
});

describe("the text tool", () => {
  function host(scene: Element[] = []): { host: ToolHost; opened: TextTarget[] } {
    const opened: TextTarget[] = [];
    const h = {
      zoom: () => 1,
      scene: () => ({ query: () => scene }),
      editText: (t: TextTarget) => opened.push(t),
    };
    return { host: h as unknown as ToolHost, opened };
  }
  const at = (x: number, y: number) => ({ x, y, pressure: null, shift: false });

  it("starts a text at a click, and one wrapped to the width of a drag", () => {
    const { host: h, opened } = host();
    const tool = new TextTool(h);
    tool.down(at(5.4, 6.6));
    tool.up();
    tool.down(at(300, 40));
    tool.move([at(250, 50), at(120, 80)]);
    expect(tool.marquee()).toEqual({ minX: 120, minY: 40, maxX: 300, maxY: 80 });
    tool.up();
    expect(opened).toEqual([
      { kind: "new", x: 5, y: 7 },
      { kind: "new", x: 120, y: 40, w: 180 },
    ]);
  });

  it("edits the text or the box shape clicked, not a locked one", () => {
    const { host: h, opened } = host([rect(), rect({ id: "locked", lock: true })]);
    const tool = new TextTool(h);
    tool.down(at(50, 50));
    tool.up();
    expect(opened).toEqual([{ kind: "new", x: 50, y: 50 }]); // the topmost is locked
    const other = host([text({ x: 0, y: 0 })]);
    const t2 = new TextTool(other.host);
    t2.down(at(5, 5));
    t2.up();
    expect(other.opened).toEqual([{ kind: "element", id: "t" }]);
  });
});
