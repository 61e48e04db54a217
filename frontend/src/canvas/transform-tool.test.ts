import { describe, expect, it } from "vitest";
import { applyOp, stateFromElements, type BoardState } from "../ops";
import { DEFAULT_LIMITS, type Element, type Op } from "../protocol";
import type { NewOp } from "../sync";
import { rect, stroke, STYLE } from "../testing";
import type { UndoEntry } from "../undo";
import { SelectTool } from "./edit-tools";
import { frameOf } from "./geometry";
import { handlePositions, ROTATE_CURSOR, selectionFrame, type HandleName } from "./handles";
import { scanQuery } from "./hit";
import type { PointerSample, ToolHost } from "./tool";
import { TransformSelectTool } from "./transform-tool";

/** A board, a selection and a clock: ops apply at once (as the optimistic view does). */
function setup(els: Element[], selected: string[]) {
  const state: BoardState = stateFromElements(1, els);
  const sent: NewOp[][] = [];
  const records: UndoEntry[] = [];
  const clock = { now: 0 };
  const host: ToolHost = {
    view: () => state,
    scene: () => scanQuery(state),
    submit: (ops) => {
      sent.push(ops);
      for (const op of ops) applyOp(state, { ...op, i: 0 } as Op);
    },
    record: (e) => records.push(e),
    style: () => ({ ...STYLE }),
    textSize: () => 24,
    limits: () => DEFAULT_LIMITS,
    zoom: () => 1,
    selection: new Set(selected),
    pan: () => {},
    editText: () => {},
    now: () => clock.now,
    laser: () => {},
  };
  const tool = new TransformSelectTool(host, new SelectTool(host));
  const at = (x: number, y: number, mods: Partial<PointerSample> = {}): PointerSample => ({ x, y, pressure: null, shift: false, ...mods });
  const drag = (points: [number, number][], mods: Partial<PointerSample> = {}) => {
    tool.down(at(...points[0], mods));
    for (const p of points.slice(1)) {
      clock.now += 100;
      tool.move([at(...p, mods)]);
    }
    tool.up();
  };
  const undo = () => records.at(-1)!.undo(state).forEach((op) => applyOp(state, { ...op, i: 0 } as Op));
  const redo = () => records.at(-1)!.redo(state).forEach((op) => applyOp(state, { ...op, i: 0 } as Op));
  return { state, sent, records, clock, tool, at, drag, undo, redo, el: (id: string) => state.elements.get(id)! };
}

describe("TransformSelectTool", () => {
  it("resizes by a corner handle, live, as one undo step that restores the exact box", () => {
    const original = rect("r", 100, 100, 100, 50);
    const t = setup([original], ["r"]);
    t.drag([[200, 150], [230, 170], [260, 190]]);
    expect(t.el("r")).toMatchObject({ x: 100, y: 100, w: 160, h: 90 });
    expect(t.sent.length).toBe(2); // one upd per pointer move (100 ms apart)
    expect(t.sent[0]).toEqual([{ k: "upd", id: "r", set: { w: 130, h: 70 } }]);
    expect(t.records.length).toBe(1);
    t.undo();
    expect(t.el("r")).toEqual(original);
    t.redo();
    expect(t.el("r")).toMatchObject({ w: 160, h: 90 });
  });

  it("throttles live updates to the cursor rate and sends the last one on release", () => {
    const t = setup([rect("r", 0, 0, 100, 100)], ["r"]);
    t.tool.down(t.at(100, 100));
    for (let k = 1; k <= 10; k++) {
      t.clock.now += 5; // 50 ms in all: one send inside the window
      t.tool.move([t.at(100 + k, 100)]);
    }
    expect(t.sent.length).toBe(1);
    t.tool.up();
    expect(t.sent.length).toBe(2);
    expect(t.el("r").w).toBe(110);
  });

  it("keeps the aspect with Shift and resizes from the centre with Alt", () => {
    const t = setup([rect("r", 0, 0, 100, 50)], ["r"]);
    t.drag([[100, 50], [200, 60]], { shift: true });
    expect(t.el("r")).toMatchObject({ x: 0, y: 0, w: 200, h: 100 });
    t.drag([[200, 50], [220, 50]], { alt: true });
    expect(t.el("r")).toMatchObject({ x: -20, y: 0, w: 240, h: 100 });
  });

  it("scales a stroke by sx/sy and a text by its size", () => {
    const s = stroke("s", 0, 0, [0, 0, 100, 40]);
    const t = setup([s], ["s"]);
    t.drag([[100, 40], [200, 40]]);
    expect(t.el("s")).toMatchObject({ x: 0, y: 0, sx: 2, p: [0, 0, 100, 40] });
    t.undo();
    expect(t.el("s")).toEqual(s);

    const text: Element = { id: "t", type: "text", x: 0, y: 0, text: "hello", size: 20, style: STYLE };
    const u = setup([text], ["t"]);
    const box = frameOf(text); // the layout's estimate of its block: the handles' frame
    u.drag([[box.maxX, box.maxY], [box.maxX * 2, box.maxY * 1.2]]);
    expect(u.el("t").size).toBe(40);
  });

  it("rotates with Shift to 15° steps, and a multi-selection about its centre", () => {
    const t = setup([rect("r", 0, 0, 100, 100)], ["r"]);
    t.drag([[50, -24], [120, 47]], { shift: true }); // from above the centre to the right: ~88° -> 90°
    expect(t.el("r")).toMatchObject({ x: 0, y: 0, rot: 90 });
    t.undo();
    expect(t.el("r").rot).toBeUndefined();

    const m = setup([rect("a", 0, 0, 100, 100), rect("b", 200, 0, 100, 100)], ["a", "b"]);
    m.drag([[150, -24], [250, 50]], { shift: true });
    // Turned a quarter about (150, 50): a's centre (50, 50) goes to (150, -50), b's to (150, 150).
    expect(m.el("a")).toMatchObject({ x: 100, y: -100, rot: 90 });
    expect(m.el("b")).toMatchObject({ x: 100, y: 100, rot: 90 });
    expect(m.records.length).toBe(1);
    m.undo();
    expect([m.el("a"), m.el("b")]).toEqual([rect("a", 0, 0, 100, 100), rect("b", 200, 0, 100, 100)]);
  });

  it("drags a line's end at 15° steps with Shift and snaps a move to another shape", () => {
    const line: Element = { id: "l", type: "line", x: 0, y: 0, w: 100, h: 0, style: STYLE };
    const t = setup([line], ["l"]);
    t.drag([[100, 0], [100, 95]], { shift: true }); // 43.5° -> 45°
    const l = t.el("l");
    expect(Math.round((Math.atan2(l.h!, l.w!) * 180) / Math.PI)).toBe(45);

    const m = setup([rect("a", 0, 0, 100, 100), rect("b", 300, 300, 50, 50)], ["b"]);
    m.drag([[320, 320], [24, 200]]); // b's left edge to 4: snaps to a's left edge, 0
    expect(m.el("b")).toMatchObject({ x: 0, y: 180 });
    m.drag([[20, 200], [24, 200]], { ctrl: true });
    expect(m.el("b").x).toBe(4);
  });

  it("unbinds the end of an arrow that is dragged away, and undo binds it again", () => {
    const target = rect("a", 0, 0, 100, 100);
    const arrow: Element = { id: "w", type: "arrow", x: 100, y: 50, w: 100, h: 0, style: STYLE, sb: { id: "a", fx: 1000, fy: 500 } };
    const t = setup([target, arrow], ["w"]);
    t.drag([[100, 50], [150, 150]]);
    expect(t.el("w").sb).toBeUndefined();
    expect(t.el("w")).toMatchObject({ x: 150, y: 150, w: 50, h: -100 });
    t.undo();
    expect(t.el("w")).toEqual(arrow);
  });

  it("gives a frame no rotation handle (it exports its upright box)", () => {
    const frame: Element = { id: "f", type: "frame", x: 0, y: 0, w: 100, h: 100, name: "F", style: STYLE };
    const t = setup([frame], ["f"]);
    t.drag([[50, -24], [120, 47]]);
    expect(t.el("f")).toEqual(frame);
    t.drag([[100, 100], [150, 120]]);
    expect(t.el("f")).toMatchObject({ w: 150, h: 120 });
  });

  it("shows each handle's resize cursor turned with the element, a rotate cursor and move", () => {
    const t = setup([rect("r", 0, 0, 100, 100), rect("o", 300, 0, 100, 100)], ["r"]);
    const cursorAt = (name: HandleName) => {
      const frame = selectionFrame([t.el("r")])!;
      const at = handlePositions(frame, 1).find(([n]) => n === name)![1];
      return t.tool.cursor(t.at(...at));
    };
    expect(["nw", "n", "ne", "e", "se", "s", "sw", "w"].map((h) => cursorAt(h as HandleName))).toEqual([
      "nwse-resize", "ns-resize", "nesw-resize", "ew-resize", "nwse-resize", "ns-resize", "nesw-resize", "ew-resize",
    ]);
    expect(cursorAt("rot")).toBe(ROTATE_CURSOR);
    expect(ROTATE_CURSOR).toMatch(/^url\("data:image\/svg\+xml,.*"\) 12 12, grab$/);
    expect(t.tool.cursor(t.at(50, 50))).toBe("move"); // on the selected rect
    expect(t.tool.cursor(t.at(350, 50))).toBeNull(); // on another, not selected
    expect(t.tool.cursor(t.at(200, 200))).toBeNull();

    t.el("r").rot = 45; // turned a quarter of the way: each handle's arrow turns with it
    expect(["n", "ne", "e", "se"].map((h) => cursorAt(h as HandleName))).toEqual(["nesw-resize", "ew-resize", "nwse-resize", "ns-resize"]);
    t.el("r").rot = 90;
    expect([cursorAt("e"), cursorAt("se")]).toEqual(["ns-resize", "nesw-resize"]);

    // Through a drag the handle's cursor stays, wherever the pointer goes.
    const rot = handlePositions(selectionFrame([t.el("r")])!, 1).find(([n]) => n === "rot")![1];
    t.tool.down(t.at(...rot));
    t.tool.move([t.at(500, 500)]);
    expect(t.tool.cursor(t.at(500, 500))).toBe(ROTATE_CURSOR);
    t.tool.up();
  });
});
