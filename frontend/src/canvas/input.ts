/**
 * Pointer, wheel and touch input on the canvas: DOM events through the gesture recogniser
 * (gestures.ts) to the active tool and the camera, plus wheel zoom/pan and the context menu.
 */
import type { Camera } from "./camera";
import { Gestures, LONG_PRESS_MS, type GestureAction, type PointerKind } from "./gestures";
import type { PointerSample } from "./tools";

/** Wheel zoom speed: factor per wheel pixel (ctrl/pinch-trackpad wheel). */
const WHEEL_ZOOM_PER_PX = 0.0015;
/** How long a phone vibrates when a long-press is recognised (ms). */
const LONG_PRESS_BUZZ_MS = 12;

export interface InputHost {
  camera: Camera;
  /** A second finger (or the pen) arrived mid-stroke: abandon it. */
  cancel(): void;
  /** Whether the space key is held (temporary hand tool). */
  spaceHeld(): boolean;
  down(p: PointerSample, screen: [number, number]): void;
  move(samples: PointerSample[], screen: [number, number]): void;
  hover(world: [number, number]): void;
  up(): void;
  /** The camera changed; re-render. */
  viewChanged(): void;
  /**
   * A command given by gesture: "menu" for a long-press or a right click at this canvas
   * position (the context actions), "undo" / "redo" for a two- / three-finger tap.
   */
  command(name: GestureCommand, screen: [number, number]): void;
}

export type GestureCommand = "menu" | "undo" | "redo";

const kindOf = (e: PointerEvent): PointerKind => (e.pointerType === "pen" || e.pointerType === "touch" ? e.pointerType : "mouse");

export function attachInput(canvas: HTMLCanvasElement, host: InputHost): Gestures {
  const gestures = new Gestures();
  let pressTimer: ReturnType<typeof setTimeout> | null = null;
  /** The kind of the last pointer down: a touch or pen's own contextmenu event is the browser's long-press, not ours. */
  let lastKind: PointerKind = "mouse";

  const local = (e: { clientX: number; clientY: number }): [number, number] => {
    const r = canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };
  const sampleAt = (e: PointerEvent, [sx, sy]: [number, number]): PointerSample => {
    const [x, y] = host.camera.toWorld(sx, sy);
    // Only styluses report meaningful pressure; mouse (0.5 fixed) and touch get simulated ink.
    const pressure = e.pointerType === "pen" && e.pressure > 0 ? e.pressure : null;
    return { x, y, pressure, shift: e.shiftKey, alt: e.altKey, ctrl: e.ctrlKey || e.metaKey, touch: e.pointerType === "touch" };
  };
  const samples = (e: PointerEvent): PointerSample[] => {
    const events = typeof e.getCoalescedEvents === "function" ? e.getCoalescedEvents() : [];
    return (events.length > 0 ? events : [e]).map((c) => sampleAt(c, local(c)));
  };

  const apply = (actions: GestureAction[], e: PointerEvent | null): void => {
    for (const a of actions) {
      switch (a.type) {
        case "draw":
          if (!e) break;
          host.down(sampleAt(e, a.from), a.from);
          if (a.moved) host.move(samples(e), local(e));
          break;
        case "move":
          if (e) host.move(samples(e), local(e));
          break;
        case "up":
          host.up();
          break;
        case "cancel":
          host.cancel();
          break;
        case "camera":
          host.camera.pan(a.dx, a.dy);
          if (a.scale !== 1) host.camera.zoomAt(a.cx, a.cy, a.scale);
          host.viewChanged();
          break;
        case "menu":
          // A finger's long-press has nothing to see under the finger: a short buzz says it took.
          navigator.vibrate?.(LONG_PRESS_BUZZ_MS);
          host.command("menu", [a.x, a.y]);
          break;
        case "undo":
        case "redo":
          host.command(a.type, e ? local(e) : [0, 0]);
          break;
      }
    }
  };

  const watchLongPress = (): void => {
    if (pressTimer !== null) clearTimeout(pressTimer);
    pressTimer = null;
    if (!gestures.waiting) return;
    pressTimer = setTimeout(() => {
      pressTimer = null;
      apply(gestures.tick(performance.now()), null);
      watchLongPress();
    }, LONG_PRESS_MS + 10);
  };

  // The canvas takes focus itself in pointerdown; the default mousedown focus change would
  // steal focus back from an editor (the text tool's textarea) opened during pointerdown.
  canvas.addEventListener("mousedown", (e) => e.preventDefault());
  canvas.addEventListener("pointerdown", (e) => {
    canvas.focus({ preventScroll: true });
    canvas.setPointerCapture(e.pointerId);
    lastKind = kindOf(e);
    const [x, y] = local(e);
    apply(gestures.down({ id: e.pointerId, kind: kindOf(e), x, y, button: e.button }, performance.now(), host.spaceHeld()), e);
    watchLongPress();
  });

  canvas.addEventListener("pointermove", (e) => {
    const [x, y] = local(e);
    const actions = gestures.move({ id: e.pointerId, kind: kindOf(e), x, y }, performance.now());
    if (!actions.some((a) => a.type === "camera")) host.hover(host.camera.toWorld(x, y));
    apply(actions, e);
    if (actions.length > 0) watchLongPress();
  });

  canvas.addEventListener("pointerup", (e) => {
    apply(gestures.up(e.pointerId, performance.now()), e);
    watchLongPress();
  });
  canvas.addEventListener("pointercancel", (e) => {
    apply(gestures.cancel(e.pointerId), e);
    watchLongPress();
  });

  canvas.addEventListener("contextmenu", (e) => {
    e.preventDefault();
    // A finger or pen held down is recognised above (the browser's own timing differs, and
    // iOS sends no such event); the mouse's right button opens the menu here.
    if (lastKind === "mouse") host.command("menu", local(e));
  });

  canvas.addEventListener(
    "wheel",
    (e) => {
      e.preventDefault();
      const [sx, sy] = local(e);
      if (e.ctrlKey || e.metaKey) {
        host.camera.zoomAt(sx, sy, Math.exp(-e.deltaY * WHEEL_ZOOM_PER_PX * (e.deltaMode === 1 ? 16 : 1)));
      } else {
        host.camera.pan(-e.deltaX, -e.deltaY);
      }
      host.viewChanged();
    },
    { passive: false },
  );
  return gestures;
}
