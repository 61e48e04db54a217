/**
 * Pointer, wheel and touch input on the canvas: coalesced pointer samples to the active tool,
 * two-finger pinch/pan, wheel zoom/pan, and middle-button or space-drag panning.
 */
import type { Camera } from "./camera";
import type { PointerSample } from "./tools";

/** Wheel zoom speed: factor per wheel pixel (ctrl/pinch-trackpad wheel). */
const WHEEL_ZOOM_PER_PX = 0.0015;

export interface InputHost {
  camera: Camera;
  /** A second finger arrived mid-gesture: abandon it. */
  cancel(): void;
  /** Whether the space key is held (temporary hand tool). */
  spaceHeld(): boolean;
  down(p: PointerSample, screen: [number, number]): void;
  move(samples: PointerSample[], screen: [number, number]): void;
  hover(world: [number, number]): void;
  up(): void;
  /** The camera changed; re-render. */
  viewChanged(): void;
}

export function attachInput(canvas: HTMLCanvasElement, host: InputHost): void {
  const touches = new Map<number, [number, number]>();
  let drawing: number | null = null;
  // A finger's gesture starts at its first move (or its lift, for taps): fingers of a pinch
  // land a few ms apart, and the first must not leave a dot on the board meanwhile.
  let pendingTouch: { id: number; sample: PointerSample; screen: [number, number] } | null = null;
  let panning: { id: number; x: number; y: number } | null = null;
  let pinch: { dist: number; cx: number; cy: number } | null = null;

  const local = (e: { clientX: number; clientY: number }): [number, number] => {
    const r = canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };
  const sample = (e: PointerEvent): PointerSample => {
    const [sx, sy] = local(e);
    const [x, y] = host.camera.toWorld(sx, sy);
    // Only styluses report meaningful pressure; mouse (0.5 fixed) and touch get simulated ink.
    const pressure = e.pointerType === "pen" && e.pressure > 0 ? e.pressure : null;
    return { x, y, pressure, shift: e.shiftKey };
  };

  const pinchState = () => {
    const [a, b] = [...touches.values()];
    return { dist: Math.hypot(a[0] - b[0], a[1] - b[1]), cx: (a[0] + b[0]) / 2, cy: (a[1] + b[1]) / 2 };
  };

  // The canvas takes focus itself in pointerdown; the default mousedown focus change would
  // steal focus back from an editor (the text tool's textarea) opened during pointerdown.
  canvas.addEventListener("mousedown", (e) => e.preventDefault());
  canvas.addEventListener("pointerdown", (e) => {
    canvas.focus({ preventScroll: true });
    canvas.setPointerCapture(e.pointerId);
    if (e.pointerType === "touch") {
      touches.set(e.pointerId, local(e));
      if (touches.size === 2) {
        // A second finger turns the gesture into pinch/pan: abandon the stroke drawn so far.
        if (drawing !== null) host.cancel();
        drawing = null;
        pendingTouch = null;
        pinch = pinchState();
        return;
      }
      if (touches.size === 1 && e.button === 0 && !host.spaceHeld()) {
        pendingTouch = { id: e.pointerId, sample: sample(e), screen: local(e) };
        return;
      }
    }
    if (e.button === 1 || (e.button === 0 && host.spaceHeld())) {
      panning = { id: e.pointerId, x: e.clientX, y: e.clientY };
      return;
    }
    if (e.button !== 0 || drawing !== null || touches.size > 1) return;
    drawing = e.pointerId;
    host.down(sample(e), local(e));
  });

  canvas.addEventListener("pointermove", (e) => {
    if (e.pointerType === "touch" && touches.has(e.pointerId)) {
      touches.set(e.pointerId, local(e));
      if (pinch && touches.size === 2) {
        const next = pinchState();
        host.camera.pan(next.cx - pinch.cx, next.cy - pinch.cy);
        host.camera.zoomAt(next.cx, next.cy, next.dist / Math.max(1, pinch.dist));
        pinch = next;
        host.viewChanged();
        return;
      }
    }
    if (panning && panning.id === e.pointerId) {
      host.camera.pan(e.clientX - panning.x, e.clientY - panning.y);
      panning = { id: e.pointerId, x: e.clientX, y: e.clientY };
      host.viewChanged();
      return;
    }
    host.hover(host.camera.toWorld(...local(e)));
    if (pendingTouch?.id === e.pointerId) {
      drawing = e.pointerId;
      host.down(pendingTouch.sample, pendingTouch.screen);
      pendingTouch = null;
    }
    if (drawing !== e.pointerId) return;
    const events = typeof e.getCoalescedEvents === "function" ? e.getCoalescedEvents() : [];
    host.move((events.length > 0 ? events : [e]).map(sample), local(e));
  });

  const end = (e: PointerEvent) => {
    touches.delete(e.pointerId);
    if (pendingTouch?.id === e.pointerId) {
      // A tap: a dot with the pen, a text box with the text tool.
      drawing = e.pointerId;
      host.down(pendingTouch.sample, pendingTouch.screen);
      pendingTouch = null;
    }
    if (touches.size < 2) pinch = null;
    if (panning?.id === e.pointerId) panning = null;
    if (drawing === e.pointerId) {
      drawing = null;
      host.up();
    }
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);

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
}
