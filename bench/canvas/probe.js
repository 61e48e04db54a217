// The canvas bench's probe, injected before the page's own scripts (Playwright init script).
//
// It wraps requestAnimationFrame so every callback of a frame is timed, and after each one
// reads one pixel of every canvas: the 2D canvas records draw calls and rasterises them
// lazily, and the read makes that raster happen inside the frame it belongs to. A frame's
// work is from the start of its first callback to the end of its last (the probe's own
// callback, which feeds the input, runs first: it registers first). It also drives the
// scripted gestures, one step per frame, with synthetic wheel and pointer events on the
// board canvas (the app's real handlers run), and notes when the loaded board was first drawn.
(() => {
  const nativeRaf = window.requestAnimationFrame.bind(window);
  const state = {
    // Set by the bench before the page loads: the board's element count.
    expected: window.__canvasBenchElements ?? Infinity,
    // ms since navigation start: the first frame holding the whole board; the end of the first
    // frame after which every visible element is on screen (at any level of detail), and of
    // the first after which all of it is at full detail; when the sync client was synced.
    load: { firstFrame: null, shown: null, drawn: null, synced: null, frames: [] },
    task: null,
    looping: false,
  };
  let frame = null;

  const flushCanvases = () => {
    for (const c of document.querySelectorAll("canvas")) {
      if (c.width === 0 || c.height === 0) continue;
      const ctx = c.getContext("2d");
      if (ctx) ctx.getImageData(0, 0, 1, 1);
    }
  };
  const pending = () => {
    const hook = window.inkroom;
    return typeof hook?.renderPending === "function" ? hook.renderPending() : false;
  };
  // A renderer without a coarse level of detail shows the board when it has drawn all of it.
  const shown = () => {
    const hook = window.inkroom;
    return typeof hook?.renderShown === "function" ? hook.renderShown() : !pending();
  };
  const elementCount = () => window.inkroom?.editor?.sync?.view?.().elements.size ?? 0;

  // A frame is over when the next one starts (or when a task ends).
  const close = () => {
    if (!frame) return;
    const load = state.load;
    if (load.firstFrame !== null && load.drawn === null) load.frames.push([frame.start, frame.end - frame.start]);
    if (load.firstFrame !== null && load.shown === null && shown()) load.shown = frame.end;
    if (load.firstFrame !== null && load.drawn === null && !pending()) load.drawn = frame.end;
    if (state.task?.recording) state.task.frames.push({ start: frame.start, work: frame.end - frame.start });
    frame = null;
  };

  window.requestAnimationFrame = (cb) =>
    nativeRaf((ts) => {
      if (!frame || frame.ts !== ts) {
        close();
        frame = { ts, start: performance.now(), end: 0 };
      }
      try {
        cb(ts);
      } finally {
        flushCanvases();
        frame.end = performance.now();
      }
    });

  const canvas = () => document.getElementById("board-canvas");
  const centre = () => {
    const r = canvas().getBoundingClientRect();
    return [r.left + r.width / 2, r.top + r.height / 2, r];
  };
  const wheel = (init) => {
    const [cx, cy] = centre();
    canvas().dispatchEvent(
      new WheelEvent("wheel", { clientX: cx, clientY: cy, bubbles: true, cancelable: true, ...init }),
    );
  };
  const pointer = (type, x, y) => {
    canvas().dispatchEvent(
      new PointerEvent(type, {
        pointerId: 1, pointerType: "mouse", isPrimary: true, clientX: x, clientY: y,
        button: type === "pointermove" ? -1 : 0, buttons: type === "pointerup" ? 0 : 1,
        pressure: type === "pointerup" ? 0 : 0.5, bubbles: true, cancelable: true,
      }),
    );
  };
  // Where the pen is at step s: a scribble over the middle of the canvas.
  const penAt = (s) => {
    const [cx, cy, r] = centre();
    const t = s / 16;
    return [cx + Math.cos(t) * r.width * 0.3 + Math.sin(3.1 * t) * 40, cy + Math.sin(1.3 * t) * r.height * 0.3];
  };

  // One step of a gesture per frame; `n` frames in all.
  const GESTURES = {
    pan: (i) => wheel({ deltaX: 8 * Math.cos(i / 12), deltaY: 8 * Math.sin(i / 12) }),
    // Out to ~55 % around the centre and back: the whole board stays in view.
    zoom: (i, n) => wheel({ ctrlKey: true, deltaY: i < n / 2 ? 10 : -10 }),
    // Two pointer samples per frame: a 120 Hz pen at 60 frames a second.
    ink: (i, n) => {
      if (i === 0) pointer("pointerdown", ...penAt(0));
      else if (i === n - 1) pointer("pointerup", ...penAt(2 * i));
      else {
        pointer("pointermove", ...penAt(2 * i - 1));
        pointer("pointermove", ...penAt(2 * i));
      }
    },
  };

  const tick = () => {
    const load = state.load;
    if (load.firstFrame === null && elementCount() >= state.expected) load.firstFrame = frame.start;
    if (load.synced === null && window.inkroom?.synced?.()) load.synced = performance.now();
    const task = state.task;
    if (task) {
      if (task.i < task.n) {
        task.recording = true;
        GESTURES[task.kind](task.i, task.n);
        task.i += 1;
      } else {
        state.task = null;
        close();
        task.resolve(task.frames);
      }
    }
    const loading = load.drawn === null || load.synced === null;
    state.looping = loading || state.task !== null;
    if (state.looping) window.requestAnimationFrame(tick);
  };

  window.__canvasProbe = {
    load: () => state.load,
    /** Run a gesture for `n` frames; resolves with each frame's {start, work} (ms). */
    run(kind, n) {
      return new Promise((resolve) => {
        state.task = { kind, n, i: 0, frames: [], recording: false, resolve };
        if (!state.looping) {
          state.looping = true;
          window.requestAnimationFrame(tick);
        }
      });
    },
  };
  state.looping = true;
  window.requestAnimationFrame(tick);
})();
