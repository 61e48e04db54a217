/**
 * Gesture recognition for the canvas, sans I/O: pointer downs, moves and lifts (with a clock)
 * in, what they mean out: draw with this pointer, move the camera, or open the context menu.
 *
 * - A mouse (left button) or a pen draws at once; the middle button, or the left with Space
 *   held, pans.
 * - A finger waits until it has moved TOUCH_SLOP_PX before it draws (or until it lifts: a tap),
 *   so the first finger of a pinch leaves no dot while the second is on its way, and one held
 *   still for LONG_PRESS_MS is a long-press (the context menu) instead.
 * - Two fingers pinch-zoom around their midpoint and pan with it; a stroke begun by the first
 *   finger is cancelled. After a pinch the finger left on the glass does nothing until lifted.
 * - Two fingers tapped together (down and up within MULTI_TAP_MS, neither moving) undo; three
 *   redo, as in the drawing apps people know from tablets.
 * - Palm rejection (PenMode "auto"): once a pen has been seen, fingers never draw; one finger
 *   pans, two pinch. "pen" does so from the start, "touch" never (fingers draw beside the pen).
 *   While the pen is down, fingers are ignored altogether in every mode (a resting palm must not
 *   move the board under the nib, nor tap an undo).
 */

/** A finger moves this far (CSS px) before its touch counts as a stroke or a pan, not a hold. */
export const TOUCH_SLOP_PX = 8;
/** A finger held still this long (ms) is a long-press. */
export const LONG_PRESS_MS = 500;
/** Fingers down and up again within this time (ms), without moving, are a multi-finger tap. */
export const MULTI_TAP_MS = 300;

export type PointerKind = "mouse" | "pen" | "touch";
/** What fingers do: "auto" pan once a pen is seen, "pen" always pan (pen only), "touch" draw. */
export type PenMode = "auto" | "pen" | "touch";

export interface GesturePointer {
  id: number;
  kind: PointerKind;
  /** Position in canvas CSS pixels. */
  x: number;
  y: number;
  /** 0 primary (left, finger, nib), 1 middle, 2 right. */
  button?: number;
}

export type GestureAction =
  /** Start a stroke with this pointer at the position it went down at, then at (x, y) if it moved. */
  | { type: "draw"; id: number; from: [number, number]; moved: boolean }
  /** Continue the pointer's stroke. */
  | { type: "move"; id: number }
  /** Finish the pointer's stroke. */
  | { type: "up"; id: number }
  /** Abandon the stroke in progress (a second finger turned it into a pinch). */
  | { type: "cancel"; id: number }
  /** Pan the camera by (dx, dy) screen px, then zoom by `scale` around (cx, cy). */
  | { type: "camera"; dx: number; dy: number; scale: number; cx: number; cy: number }
  /** Open the context menu at this canvas position. */
  | { type: "menu"; x: number; y: number }
  /** A two-finger tap (undo) or a three-finger tap (redo). */
  | { type: "undo" }
  | { type: "redo" };

type Role =
  /** A finger that has not yet moved far enough to say what it is. */
  | { kind: "pending"; since: number }
  | { kind: "draw" }
  | { kind: "pan" }
  | { kind: "pinch" }
  /** Does nothing until lifted: the finger left after a pinch, a long-press, a third finger. */
  | { kind: "spent" };

interface Tracked {
  kind: PointerKind;
  x: number;
  y: number;
  /** Where it went down. */
  x0: number;
  y0: number;
  role: Role;
}

/** The fingers of one touch, from the first down to the last up: a multi-finger tap or not. */
interface TouchGroup {
  since: number;
  fingers: number;
  /** A finger moved, a stroke began, a long-press fired or a pen was down: not a tap. */
  spoilt: boolean;
}

export class Gestures {
  private readonly pointers = new Map<number, Tracked>();
  private penSeen = false;
  private group: TouchGroup | null = null;
  /** The user's setting (ui/pen-mode.ts). */
  mode: PenMode = "auto";

  /** Whether fingers only pan and zoom now: by the setting, or in "auto" once a pen was used. */
  get palmRejection(): boolean {
    return this.mode === "pen" || (this.mode === "auto" && this.penSeen);
  }

  down(p: GesturePointer, now: number, spaceHeld = false): GestureAction[] {
    const button = p.button ?? 0;
    if (p.kind === "pen") {
      this.penSeen = true;
      if (this.group) this.group.spoilt = true;
    }
    if (p.kind === "touch") return this.fingerDown(p, now);
    // Mouse or pen.
    if (button === 1 || (button === 0 && spaceHeld)) return this.track(p, { kind: "pan" });
    if (button !== 0) return [];
    const out: GestureAction[] = [];
    if (p.kind === "pen") {
      // The pen wins over fingers already down: the palm landed first.
      for (const [id, t] of this.pointers) {
        if (t.kind !== "touch") continue;
        if (t.role.kind === "draw") out.push({ type: "cancel", id });
        t.role = { kind: "spent" };
      }
    }
    if (this.drawer() !== null) return out;
    this.track(p, { kind: "draw" });
    out.push({ type: "draw", id: p.id, from: [p.x, p.y], moved: false });
    return out;
  }

  move(p: GesturePointer, now: number): GestureAction[] {
    const t = this.pointers.get(p.id);
    if (!t) return [];
    const [px, py] = [t.x, t.y];
    t.x = p.x;
    t.y = p.y;
    if (this.group && t.kind === "touch" && Math.hypot(p.x - t.x0, p.y - t.y0) >= TOUCH_SLOP_PX) this.group.spoilt = true;
    switch (t.role.kind) {
      case "draw":
        return [{ type: "move", id: p.id }];
      case "pan":
        return [{ type: "camera", dx: p.x - px, dy: p.y - py, scale: 1, cx: p.x, cy: p.y }];
      case "pinch":
        return this.pinchMove(p.id, px, py);
      case "pending": {
        const expired = this.longPress(p.id, now);
        if (expired.length > 0) return expired;
        if (Math.hypot(p.x - t.x0, p.y - t.y0) < TOUCH_SLOP_PX) return [];
        if (this.palmRejection) {
          t.role = { kind: "pan" };
          return [{ type: "camera", dx: p.x - t.x0, dy: p.y - t.y0, scale: 1, cx: p.x, cy: p.y }];
        }
        t.role = { kind: "draw" };
        return [{ type: "draw", id: p.id, from: [t.x0, t.y0], moved: true }];
      }
      case "spent":
        return [];
    }
  }

  up(id: number, now: number): GestureAction[] {
    const t = this.pointers.get(id);
    if (!t) return [];
    this.pointers.delete(id);
    const out: GestureAction[] = [];
    if (t.role.kind === "pending") {
      const expired = this.longPressOf(t, now);
      if (expired && this.group) this.group.spoilt = true;
      if (expired) out.push(expired);
      // A tap: a dot with the pen, a text box with the text tool (not with a pen in play).
      else if (!this.palmRejection) out.push({ type: "draw", id, from: [t.x0, t.y0], moved: false }, { type: "up", id });
    } else if (t.role.kind === "draw") {
      out.push({ type: "up", id });
    } else if (t.role.kind === "pinch") {
      for (const other of this.pointers.values()) if (other.role.kind === "pinch") other.role = { kind: "spent" };
    }
    if (t.kind === "touch") out.push(...this.groupEnds(now));
    return out;
  }

  /** The last finger of a group lifted: two or three that only tapped undo or redo. */
  private groupEnds(now: number): GestureAction[] {
    const g = this.group;
    if (!g || [...this.pointers.values()].some((t) => t.kind === "touch")) return [];
    this.group = null;
    if (g.spoilt || g.fingers < 2 || g.fingers > 3 || now - g.since > MULTI_TAP_MS) return [];
    return [{ type: g.fingers === 2 ? "undo" : "redo" }];
  }

  /**
   * The browser took the pointer away (pointercancel): a stroke keeps what was drawn, as on a
   * lift, but a tap, a long-press or a multi-finger tap it was about to be does not happen.
   */
  cancel(id: number): GestureAction[] {
    const t = this.pointers.get(id);
    if (!t) return [];
    this.pointers.delete(id);
    if (t.role.kind === "pinch") {
      for (const other of this.pointers.values()) if (other.role.kind === "pinch") other.role = { kind: "spent" };
    }
    if (this.group) this.group.spoilt = true;
    if (t.kind === "touch") this.groupEnds(0);
    return t.role.kind === "draw" ? [{ type: "up", id }] : [];
  }

  /** Called on a timer while a finger is down: a finger held still long enough opens the menu. */
  tick(now: number): GestureAction[] {
    for (const id of this.pointers.keys()) {
      const out = this.longPress(id, now);
      if (out.length > 0) return out;
    }
    return [];
  }

  /** Whether tick() has anything to wait for. */
  get waiting(): boolean {
    return [...this.pointers.values()].some((t) => t.role.kind === "pending");
  }

  private fingerDown(p: GesturePointer, now: number): GestureAction[] {
    const drawer = this.drawer();
    const down = [...this.pointers.values()].filter((t) => t.kind === "touch").length;
    if (down === 0 || !this.group) this.group = { since: now, fingers: 0, spoilt: false };
    this.group.fingers = down + 1;
    if (drawer !== null && this.pointers.get(drawer)?.kind === "pen") {
      this.group.spoilt = true;
      return this.track(p, { kind: "spent" });
    }
    const fingers = [...this.pointers].filter(([, t]) => t.kind === "touch" && t.role.kind !== "spent");
    if (fingers.length === 0) return this.track(p, { kind: "pending", since: now });
    if (fingers.length > 1) return this.track(p, { kind: "spent" });
    // The second finger: the pair becomes a pinch, whatever the first was doing.
    const [id, first] = fingers[0];
    const out: GestureAction[] = first.role.kind === "draw" ? [{ type: "cancel", id }] : [];
    first.role = { kind: "pinch" };
    this.track(p, { kind: "pinch" });
    return out;
  }

  private pinchMove(id: number, px: number, py: number): GestureAction[] {
    const other = [...this.pointers].find(([k, t]) => k !== id && t.role.kind === "pinch")?.[1];
    const t = this.pointers.get(id);
    if (!other || !t) return [];
    const before = { cx: (px + other.x) / 2, cy: (py + other.y) / 2, d: Math.hypot(px - other.x, py - other.y) };
    const cx = (t.x + other.x) / 2;
    const cy = (t.y + other.y) / 2;
    const d = Math.hypot(t.x - other.x, t.y - other.y);
    return [{ type: "camera", dx: cx - before.cx, dy: cy - before.cy, scale: d / Math.max(1, before.d), cx, cy }];
  }

  private longPress(id: number, now: number): GestureAction[] {
    const t = this.pointers.get(id);
    const action = t ? this.longPressOf(t, now) : null;
    if (!action || !t) return [];
    t.role = { kind: "spent" };
    if (this.group) this.group.spoilt = true;
    return [action];
  }

  private longPressOf(t: Tracked, now: number): GestureAction | null {
    if (t.role.kind !== "pending" || now - t.role.since < LONG_PRESS_MS) return null;
    return { type: "menu", x: t.x0, y: t.y0 };
  }

  private drawer(): number | null {
    for (const [id, t] of this.pointers) if (t.role.kind === "draw") return id;
    return null;
  }

  private track(p: GesturePointer, role: Role): GestureAction[] {
    this.pointers.set(p.id, { kind: p.kind, x: p.x, y: p.y, x0: p.x, y0: p.y, role });
    return [];
  }
}
