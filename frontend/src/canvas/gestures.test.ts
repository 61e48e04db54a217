import { describe, expect, it } from "vitest";
import { Gestures, LONG_PRESS_MS, MULTI_TAP_MS, TOUCH_SLOP_PX, type GestureAction, type PointerKind } from "./gestures";

const finger = (id: number, x: number, y: number) => ({ id, kind: "touch" as PointerKind, x, y });
const pen = (id: number, x: number, y: number) => ({ id, kind: "pen" as PointerKind, x, y });
const types = (actions: GestureAction[]) => actions.map((a) => a.type);

/** Apply camera actions the way input.ts does: pan, then zoom around (cx, cy). */
function camera(actions: GestureAction[], cam = { x: 0, y: 0, zoom: 1 }) {
  for (const a of actions) {
    if (a.type !== "camera") continue;
    cam.x -= a.dx / cam.zoom;
    cam.y -= a.dy / cam.zoom;
    const [wx, wy] = [a.cx / cam.zoom + cam.x, a.cy / cam.zoom + cam.y];
    cam.zoom *= a.scale;
    cam.x = wx - a.cx / cam.zoom;
    cam.y = wy - a.cy / cam.zoom;
  }
  return cam;
}

describe("one finger", () => {
  it("draws once it has moved past the slop, from where it went down", () => {
    const g = new Gestures();
    expect(g.down(finger(1, 100, 100), 0)).toEqual([]);
    expect(g.move(finger(1, 103, 100), 10)).toEqual([]);
    expect(g.move(finger(1, 100 + TOUCH_SLOP_PX, 100), 20)).toEqual([{ type: "draw", id: 1, from: [100, 100], moved: true }]);
    expect(g.move(finger(1, 130, 100), 30)).toEqual([{ type: "move", id: 1 }]);
    expect(g.up(1, 40)).toEqual([{ type: "up", id: 1 }]);
  });

  it("taps: a dot where it touched", () => {
    const g = new Gestures();
    g.down(finger(1, 50, 60), 0);
    expect(g.up(1, 80)).toEqual([{ type: "draw", id: 1, from: [50, 60], moved: false }, { type: "up", id: 1 }]);
  });

  it("held still it is a long-press: the menu, and no ink", () => {
    const g = new Gestures();
    g.down(finger(1, 50, 60), 1000);
    g.move(finger(1, 52, 61), 1100);
    expect(g.tick(1000 + LONG_PRESS_MS - 1)).toEqual([]);
    expect(g.waiting).toBe(true);
    expect(g.tick(1000 + LONG_PRESS_MS)).toEqual([{ type: "menu", x: 50, y: 60 }]);
    expect(g.waiting).toBe(false);
    // Moving or lifting afterwards does nothing more.
    expect(g.move(finger(1, 200, 200), 1700)).toEqual([]);
    expect(g.up(1, 1800)).toEqual([]);
  });

  it("moving before the long-press time draws instead", () => {
    const g = new Gestures();
    g.down(finger(1, 0, 0), 0);
    expect(types(g.move(finger(1, 20, 0), LONG_PRESS_MS - 1))).toEqual(["draw"]);
    expect(g.tick(LONG_PRESS_MS * 3)).toEqual([]);
  });
});

describe("two fingers", () => {
  it("pinch zooms around the fingers' midpoint and draws nothing", () => {
    const g = new Gestures();
    const acts: GestureAction[] = [];
    acts.push(...g.down(finger(1, 100, 200), 0), ...g.down(finger(2, 200, 200), 5));
    acts.push(...g.move(finger(1, 50, 200), 10), ...g.move(finger(2, 250, 200), 10));
    expect(acts.some((a) => a.type === "draw")).toBe(false);
    const cam = camera(acts);
    expect(cam.zoom).toBeCloseTo(2);
    // The world point that was under the midpoint (150, 200) is still there.
    expect(150 / cam.zoom + cam.x).toBeCloseTo(150);
    expect(200 / cam.zoom + cam.y).toBeCloseTo(200);
  });

  it("pan together with their midpoint", () => {
    const g = new Gestures();
    g.down(finger(1, 100, 100), 0);
    g.down(finger(2, 200, 100), 0);
    const acts = [...g.move(finger(1, 130, 140), 10), ...g.move(finger(2, 230, 140), 10)];
    const cam = camera(acts);
    expect(cam.zoom).toBeCloseTo(1);
    expect(cam.x).toBeCloseTo(-30);
    expect(cam.y).toBeCloseTo(-40);
  });

  it("cancel the first finger's stroke when the second lands", () => {
    const g = new Gestures();
    g.down(finger(1, 0, 0), 0);
    expect(types(g.move(finger(1, 30, 0), 10))).toEqual(["draw"]);
    expect(g.down(finger(2, 100, 0), 20)).toEqual([{ type: "cancel", id: 1 }]);
    expect(types(g.move(finger(1, 10, 0), 30))).toEqual(["camera"]);
    // Lifting one: the other is left doing nothing until lifted, not drawing.
    expect(g.up(2, 40)).toEqual([]);
    expect(g.move(finger(1, 80, 80), 50)).toEqual([]);
    expect(g.up(1, 60)).toEqual([]);
    expect(g.tick(10_000)).toEqual([]);
  });

  it("a third finger is ignored", () => {
    const g = new Gestures();
    g.down(finger(1, 0, 0), 0);
    g.down(finger(2, 100, 0), 0);
    expect(g.down(finger(3, 50, 50), 0)).toEqual([]);
    expect(g.move(finger(3, 90, 90), 10)).toEqual([]);
  });
});

describe("pen and palm rejection", () => {
  it("a pen draws at once, without slop", () => {
    const g = new Gestures();
    expect(g.down(pen(7, 10, 10), 0)).toEqual([{ type: "draw", id: 7, from: [10, 10], moved: false }]);
    expect(g.move(pen(7, 11, 10), 5)).toEqual([{ type: "move", id: 7 }]);
    expect(g.up(7, 10)).toEqual([{ type: "up", id: 7 }]);
    expect(g.palmRejection).toBe(true);
  });

  it("once a pen was seen, a finger pans instead of drawing, and a tap leaves nothing", () => {
    const g = new Gestures();
    g.down(pen(7, 10, 10), 0);
    g.up(7, 10);
    g.down(finger(1, 100, 100), 20);
    const acts = g.move(finger(1, 100, 100 + 2 * TOUCH_SLOP_PX), 30);
    expect(acts).toEqual([{ type: "camera", dx: 0, dy: 2 * TOUCH_SLOP_PX, scale: 1, cx: 100, cy: 100 + 2 * TOUCH_SLOP_PX }]);
    expect(types(g.move(finger(1, 100, 150), 40))).toEqual(["camera"]);
    expect(g.up(1, 50)).toEqual([]);
    g.down(finger(2, 5, 5), 60);
    expect(g.up(2, 70)).toEqual([]);
  });

  it("once a pen was seen, two fingers still pinch", () => {
    const g = new Gestures();
    g.down(pen(7, 10, 10), 0);
    g.up(7, 10);
    g.down(finger(1, 100, 100), 20);
    g.down(finger(2, 200, 100), 20);
    const acts = [...g.move(finger(1, 50, 100), 30), ...g.move(finger(2, 250, 100), 30)];
    expect(camera(acts).zoom).toBeCloseTo(2);
  });

  it("a palm resting while the pen draws neither draws nor moves the board", () => {
    const g = new Gestures();
    g.down(pen(7, 10, 10), 0);
    expect(g.down(finger(1, 300, 300), 5)).toEqual([]);
    expect(g.move(finger(1, 340, 380), 10)).toEqual([]);
    expect(g.tick(5000)).toEqual([]);
    expect(g.move(pen(7, 30, 10), 15)).toEqual([{ type: "move", id: 7 }]);
    expect(g.up(1, 20)).toEqual([]);
    expect(g.up(7, 25)).toEqual([{ type: "up", id: 7 }]);
  });

  it("a pen landing after the palm takes over: the palm's stroke is cancelled", () => {
    const g = new Gestures();
    g.down(finger(1, 300, 300), 0);
    expect(types(g.move(finger(1, 340, 300), 5))).toEqual(["draw"]);
    expect(g.down(pen(7, 10, 10), 10)).toEqual([
      { type: "cancel", id: 1 },
      { type: "draw", id: 7, from: [10, 10], moved: false },
    ]);
    expect(g.move(finger(1, 360, 300), 15)).toEqual([]);
  });
});

describe("mouse", () => {
  it("left draws, middle and Space+left pan, right does nothing here", () => {
    const g = new Gestures();
    const mouse = (button: number) => ({ id: 1, kind: "mouse" as PointerKind, x: 0, y: 0, button });
    expect(types(g.down(mouse(0), 0))).toEqual(["draw"]);
    g.up(1, 1);
    expect(g.down(mouse(1), 2)).toEqual([]);
    expect(g.move({ ...mouse(1), x: 5, y: 6 }, 3)).toEqual([{ type: "camera", dx: 5, dy: 6, scale: 1, cx: 5, cy: 6 }]);
    g.up(1, 4);
    expect(g.down(mouse(0), 5, true)).toEqual([]);
    expect(types(g.move({ ...mouse(0), x: 5 }, 6))).toEqual(["camera"]);
    g.up(1, 7);
    expect(g.down(mouse(2), 8)).toEqual([]);
    expect(g.move({ ...mouse(2), x: 9 }, 9)).toEqual([]);
  });

  it("a finger landing mid-pinch while a pointer is cancelled leaves no stroke open", () => {
    const g = new Gestures();
    g.down(finger(1, 0, 0), 0);
    g.move(finger(1, 30, 0), 10);
    expect(g.cancel(1)).toEqual([{ type: "up", id: 1 }]);
    expect(g.move(finger(1, 60, 0), 20)).toEqual([]);
  });
});

describe("multi-finger taps", () => {
  it("two fingers tapped together undo; three redo", () => {
    const g = new Gestures();
    g.down(finger(1, 100, 100), 0);
    g.down(finger(2, 200, 100), 20);
    g.move(finger(1, 102, 101), 60);
    expect(g.up(1, 120)).toEqual([]);
    expect(g.up(2, 140)).toEqual([{ type: "undo" }]);
    g.down(finger(1, 100, 100), 1000);
    g.down(finger(2, 150, 100), 1010);
    g.down(finger(3, 200, 100), 1020);
    g.up(3, 1100);
    g.up(1, 1110);
    expect(g.up(2, 1120)).toEqual([{ type: "redo" }]);
  });

  it("is not a tap when a finger moved, or the fingers stayed too long", () => {
    const g = new Gestures();
    g.down(finger(1, 100, 100), 0);
    g.down(finger(2, 200, 100), 0);
    g.move(finger(2, 200 + TOUCH_SLOP_PX, 100), 50);
    g.up(1, 100);
    expect(g.up(2, 120)).toEqual([]);
    g.down(finger(1, 100, 100), 1000);
    g.down(finger(2, 200, 100), 1000);
    g.up(1, 1000 + MULTI_TAP_MS);
    expect(g.up(2, 1001 + MULTI_TAP_MS)).toEqual([]);
  });

  it("one finger's tap is a dot, not an undo; a palm next to the pen undoes nothing", () => {
    const g = new Gestures();
    g.down(finger(1, 10, 10), 0);
    expect(types(g.up(1, 50))).toEqual(["draw", "up"]);
    g.down(pen(7, 0, 0), 100);
    g.down(finger(1, 300, 300), 110);
    g.down(finger(2, 350, 300), 120);
    g.up(1, 150);
    expect(g.up(2, 160)).toEqual([]);
    g.up(7, 170);
    // With the pen lifted, fingers tap an undo again (palm rejection keeps the gestures).
    g.down(finger(1, 300, 300), 500);
    g.down(finger(2, 350, 300), 510);
    g.up(1, 550);
    expect(g.up(2, 560)).toEqual([{ type: "undo" }]);
  });
});

describe("pointercancel", () => {
  it("keeps a stroke, but drops the tap, long-press or undo it was about to be", () => {
    const g = new Gestures();
    g.down(finger(1, 0, 0), 0);
    expect(g.cancel(1)).toEqual([]);
    expect(g.tick(LONG_PRESS_MS * 2)).toEqual([]);
    g.down(finger(1, 0, 0), 2000);
    g.down(finger(2, 50, 0), 2010);
    expect(g.cancel(1)).toEqual([]);
    expect(g.up(2, 2050)).toEqual([]);
  });
});

describe("the palm-rejection setting", () => {
  const drags = (g: Gestures) => types(g.move(finger(1, 100, 100 + 2 * TOUCH_SLOP_PX), 30));

  it("pen only: a finger pans before any pen was seen, and a tap leaves nothing", () => {
    const g = new Gestures();
    g.mode = "pen";
    expect(g.palmRejection).toBe(true);
    g.down(finger(1, 100, 100), 20);
    expect(drags(g)).toEqual(["camera"]);
    g.up(1, 40);
    g.down(finger(2, 5, 5), 60);
    expect(g.up(2, 70)).toEqual([]);
  });

  it("off: a finger draws after a pen too, but not while the pen is down", () => {
    const g = new Gestures();
    g.mode = "touch";
    g.down(pen(7, 10, 10), 0);
    expect(g.down(finger(2, 50, 50), 5)).toEqual([]);
    expect(g.move(finger(2, 50, 90), 6)).toEqual([]); // the palm beside the nib
    g.up(2, 7);
    g.up(7, 10);
    expect(g.palmRejection).toBe(false);
    g.down(finger(1, 100, 100), 20);
    expect(drags(g)).toEqual(["draw"]);
  });

  it("auto: fingers draw until a pen is seen", () => {
    const g = new Gestures();
    g.down(finger(1, 100, 100), 20);
    expect(drags(g)).toEqual(["draw"]);
  });
});
