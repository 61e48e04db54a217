/**
 * The select tool with transform handles and snapping: a drag on a handle resizes or rotates;
 * a drag on the selection moves it with its edges and centres snapped to other elements'.
 * Everything else (click to select, marquee, plain move, a line's ends) is SelectTool's.
 *
 * A transform sends one `upd` per changed element as the pointer moves, throttled to the
 * cursor rate and to half the op budget, with only what changed since the last send, so others
 * watch it live; the whole drag is one undo step whose undo puts back the original values of
 * every key it touched (null for a key the element did not have), exactly.
 */
import type { Box } from "../ops";
import type { Element } from "../protocol";
import type { NewOp } from "../sync";
import { inversePatch, type UndoEntry } from "../undo";
import type { Context2D } from "./draw";
import type { SelectTool } from "./edit-tools";
import { drawnFrame, rotatePoint, rotationCentre, unionBox, type Point } from "./geometry";
import { drawDecoration, handleAt, handleCursor, HANDLE_AT, selectionFrame, type ResizeHandle, type SelectionFrame } from "./handles";
import { snapDegrees, snapEdges, snapMove, SNAP_PX, type Edges, type Guide } from "./snap";
import type { PointerSample, Tool, ToolHost } from "./tool";
import { keepsAspect, normRot, patchBetween, patchOf, rotateAbout, scaleAbout } from "./transform";

/** How far around the moving box other elements are snap candidates, screen pixels. */
const SNAP_REACH_PX = 2000;
/** A transform's live `upd`s use at most this share of the client's op rate budget. */
const LIVE_OP_SHARE = 0.5;

const snapping = (p: PointerSample): boolean => !p.ctrl && !p.alt;

function selected(host: ToolHost): Element[] {
  const view = host.view();
  return [...host.selection].map((id) => view.elements.get(id)).filter((el): el is Element => !!el);
}

/** Other elements' frames near `box` (snap targets). */
function snapTargets(host: ToolHost, box: Box, skip: ReadonlySet<string>): Box[] {
  const r = SNAP_REACH_PX / host.zoom();
  const near = host.scene().query({ minX: box.minX - r, minY: box.minY - r, maxX: box.maxX + r, maxY: box.maxY + r });
  return near.filter((el) => !skip.has(el.id)).map(drawnFrame);
}

/** One drag of a handle: the originals, what is shown now, and what was last sent. */
class TransformGesture {
  private readonly originals: Map<string, Element>;
  private current: Map<string, Element>;
  private readonly sent: Map<string, Element>;
  private readonly touched = new Map<string, Set<string>>();
  private readonly targets: Box[];
  private lastFlush = -Infinity;
  guides: Guide[] = [];
  /** The frame's turn when the drag began (its handle's cursor keeps it). */
  readonly startRot: number;
  /** The group frame's turn while rotating several elements (the frame is drawn turned). */
  private frameTurn = 0;

  constructor(
    private readonly host: ToolHost,
    readonly handle: ResizeHandle | "rot",
    private readonly frame: SelectionFrame,
    els: readonly Element[],
    private readonly start: PointerSample,
  ) {
    this.startRot = frame.rot;
    this.originals = new Map(els.map((el) => [el.id, el]));
    this.current = new Map(this.originals);
    this.sent = new Map(this.originals);
    this.targets = frame.rot === 0 ? snapTargets(host, frame.box, new Set(this.originals.keys())) : [];
  }

  update(p: PointerSample): void {
    this.guides = [];
    if (this.handle === "rot") this.current = this.rotate(p);
    else this.current = this.resize(p, this.handle);
  }

  private rotate(p: PointerSample): Map<string, Element> {
    const [cx, cy] = this.frame.centre;
    const angle = (x: number, y: number) => (Math.atan2(y - cy, x - cx) * 180) / Math.PI;
    let delta = angle(p.x, p.y) - angle(this.start.x, this.start.y);
    const single = this.originals.size === 1 ? [...this.originals.values()][0] : null;
    if (p.shift) delta = single ? snapDegrees((single.rot ?? 0) + delta) - (single.rot ?? 0) : snapDegrees(delta);
    this.frameTurn = normRot(delta);
    return this.map((el) => rotateAbout(el, delta, [cx, cy]));
  }

  private resize(p: PointerSample, handle: ResizeHandle): Map<string, Element> {
    const { box, rot, centre } = this.frame;
    const [px, py] = rotatePoint(p.x, p.y, -rot, centre[0], centre[1]);
    const [fx, fy] = HANDLE_AT[handle];
    const edges: Edges = { minX: fx === 0, maxX: fx === 1, minY: fy === 0, maxY: fy === 1 };
    let raw: Box = {
      minX: edges.minX ? px : box.minX,
      maxX: edges.maxX ? px : box.maxX,
      minY: edges.minY ? py : box.minY,
      maxY: edges.maxY ? py : box.maxY,
    };
    if (rot === 0 && snapping(p)) {
      const snapped = snapEdges(raw, edges, this.targets, SNAP_PX / this.host.zoom());
      raw = snapped.box;
      this.guides = snapped.guides;
    }
    const fromCentre = !!p.alt;
    const mid: Point = [(box.minX + box.maxX) / 2, (box.minY + box.maxY) / 2];
    // Per axis: the anchor that stays, and the factor from the old extent to the new.
    const axis = (lo: number, hi: number, newLo: number, newHi: number, movesLo: boolean, movesHi: boolean, c: number) => {
      if (!movesLo && !movesHi) return { anchor: c, k: 1, moves: false };
      const anchor = fromCentre ? c : movesHi ? lo : hi;
      const from = (movesHi ? hi : lo) - anchor;
      const to = (movesHi ? newHi : newLo) - anchor;
      return { anchor, k: from === 0 ? 1 : to / from, moves: true };
    };
    const ax = axis(box.minX, box.maxX, raw.minX, raw.maxX, !!edges.minX, !!edges.maxX, mid[0]);
    const ay = axis(box.minY, box.maxY, raw.minY, raw.maxY, !!edges.minY, !!edges.maxY, mid[1]);
    const aspect = p.shift || [...this.originals.values()].some((el) => this.originals.size === 1 && keepsAspect(el));
    if (aspect) {
      const k = Math.max(ax.moves ? Math.abs(ax.k) : 0, ay.moves ? Math.abs(ay.k) : 0);
      // A side handle grows the other axis about its middle.
      if (!ax.moves) ax.anchor = mid[0];
      if (!ay.moves) ay.anchor = mid[1];
      ax.k = ax.moves ? Math.sign(ax.k || 1) * k : k;
      ay.k = ay.moves ? Math.sign(ay.k || 1) * k : k;
    }
    const map = (u: number, a: { anchor: number; k: number }) => a.anchor + (u - a.anchor) * a.k;
    return this.map((el) => {
      // In the frame's unrotated coordinates: the element's own for one, the world for several.
      const [ex, ey] = rotationCentre(el);
      const local: Point = [map(ex, ax), map(ey, ay)];
      const to = rotatePoint(local[0], local[1], rot, centre[0], centre[1]);
      if (this.originals.size === 1 || !el.rot) return scaleAbout(el, ax.k, ay.k, to);
      // An element turned inside an upright group: scale its own axes by what the group's
      // axes do along them, and mirror its turn if the group flips one axis.
      const t = (el.rot * Math.PI) / 180;
      const lx = Math.hypot(ax.k * Math.cos(t), ay.k * Math.sin(t));
      const ly = Math.hypot(ax.k * Math.sin(t), ay.k * Math.cos(t));
      const scaled = scaleAbout(el, lx, ly, to);
      const flips = (ax.k < 0 ? 1 : 0) + (ay.k < 0 ? 1 : 0);
      const r = flips === 1 ? normRot(-el.rot) : flips === 2 ? normRot(el.rot + 180) : el.rot;
      const next: Element = { ...scaled, rot: r };
      if (r === 0) delete next.rot;
      return next;
    });
  }

  private map(f: (el: Element) => Element): Map<string, Element> {
    const out = new Map<string, Element>();
    for (const [id, el] of this.originals) out.set(id, f(el));
    return out;
  }

  /** Send what changed since the last send, if the throttle allows (or `force`). */
  flush(force = false): void {
    const limits = this.host.limits();
    const interval = Math.max(limits.cursor_ms, (this.originals.size * 1000) / (limits.ops_per_sec * LIVE_OP_SHARE));
    const now = this.host.now();
    if (!force && now - this.lastFlush < interval) return;
    const ops: NewOp[] = [];
    for (const [id, el] of this.current) {
      const patch = patchBetween(this.sent.get(id)!, el);
      if (!patch) continue;
      ops.push({ k: "upd", id, set: patch });
      this.sent.set(id, el);
      let keys = this.touched.get(id);
      if (!keys) this.touched.set(id, (keys = new Set()));
      for (const key of Object.keys(patch)) keys.add(key);
    }
    if (ops.length === 0) return;
    this.lastFlush = now;
    this.host.submit(ops);
  }

  /** The last send, and the undo step for the whole drag (null if nothing changed). */
  finish(): UndoEntry | null {
    this.flush(true);
    const steps = [...this.touched].map(([id, keys]) => {
      const after = patchOf(this.current.get(id)!, keys);
      return { id, before: inversePatch(this.originals.get(id)!, after), after };
    });
    if (steps.length === 0) return null;
    return {
      undo: () => steps.map((s) => ({ k: "upd", id: s.id, set: s.before })),
      redo: () => steps.map((s) => ({ k: "upd", id: s.id, set: s.after })),
    };
  }

  /** Abandon the drag: put back what was sent. */
  cancel(): void {
    this.current = new Map(this.originals);
    this.flush(true);
  }

  drafts(): Element[] {
    return [...this.current.values()];
  }

  /** The frame as drawn now: a single element's own, a group's turned while rotating. */
  shownFrame(): SelectionFrame | null {
    const els = [...this.current.values()];
    if (this.handle === "rot" && els.length > 1) return { ...this.frame, rot: this.frameTurn };
    return selectionFrame(els);
  }
}

export class TransformSelectTool implements Tool {
  private gesture: TransformGesture | null = null;
  private guides: Guide[] = [];
  /** A move's selection box and snap targets, found once per drag. */
  private moving: { box: Box; targets: Box[] } | null = null;

  constructor(
    private readonly host: ToolHost,
    private readonly inner: SelectTool,
  ) {
    inner.snap = (dx, dy, p) => this.snapMove(dx, dy, p);
  }

  down(p: PointerSample): void {
    this.guides = [];
    this.moving = null;
    const els = selected(this.host);
    const frame = els.some((el) => el.lock) ? null : selectionFrame(els);
    const handle = frame ? handleAt(frame, p.x, p.y, this.host.zoom(), p.touch) : null;
    // A line's ends are SelectTool's (attach.ts EndpointDrag: it binds where they drop).
    if (frame && handle && handle !== "start" && handle !== "end") {
      this.gesture = new TransformGesture(this.host, handle, frame, els, p);
      return;
    }
    this.inner.down(p);
  }

  move(samples: readonly PointerSample[]): void {
    const p = samples[samples.length - 1];
    if (!this.gesture) return this.inner.move(samples);
    if (!p) return;
    this.gesture.update(p);
    this.guides = this.gesture.guides;
    this.gesture.flush();
  }

  up(): void {
    const g = this.gesture;
    if (g) {
      const entry = g.finish();
      if (entry) this.host.record(entry);
      this.gesture = null;
    } else {
      this.inner.up();
    }
    this.guides = [];
    this.moving = null;
  }

  cancel(): void {
    if (this.gesture) {
      this.gesture.cancel();
      this.gesture = null;
      this.guides = [];
    } else this.up();
  }

  tick(): void {
    this.gesture?.flush();
    this.inner.tick();
  }

  drafts(): Element[] {
    return this.gesture ? this.gesture.drafts() : this.inner.drafts();
  }

  marquee(): Box | null {
    return this.gesture ? null : this.inner.marquee();
  }

  /** A handle's cursor (turned with the frame) over it and all through its drag, else SelectTool's. */
  cursor(p: PointerSample): string | null {
    if (this.gesture) return handleCursor(this.gesture.handle, this.gesture.startRot);
    const els = selected(this.host);
    const frame = els.some((el) => el.lock) ? null : selectionFrame(els);
    const handle = frame ? handleAt(frame, p.x, p.y, this.host.zoom(), p.touch) : null;
    return frame && handle ? handleCursor(handle, frame.rot) : this.inner.cursor(p);
  }

  /** A move's offset snapped to other elements (Ctrl/Cmd or Alt held: as is). */
  private snapMove(dx: number, dy: number, p: PointerSample): [number, number] {
    this.guides = [];
    if (!snapping(p)) return [dx, dy];
    if (!this.moving) {
      const box = unionBox(selected(this.host).map(drawnFrame));
      if (!box) return [dx, dy];
      this.moving = { box, targets: snapTargets(this.host, box, this.host.selection) };
    }
    const b = this.moving.box;
    const shifted = { minX: b.minX + dx, minY: b.minY + dy, maxX: b.maxX + dx, maxY: b.maxY + dy };
    const snap = snapMove(shifted, this.moving.targets, SNAP_PX / this.host.zoom());
    this.guides = snap.guides;
    return [Math.round(dx + snap.dx), Math.round(dy + snap.dy)];
  }

  /** Outlines, handles and guides on the live layer; returns the world box drawn over. */
  decorate(ctx: Context2D, zoom: number): Box | null {
    const drafts = new Map(this.drafts().map((d) => [d.id, d]));
    const els = selected(this.host).map((el) => drafts.get(el.id) ?? el);
    const frame = this.gesture ? this.gesture.shownFrame() : selectionFrame(els);
    const moving = this.moving !== null && drafts.size > 0;
    const handles = !moving && !els.some((el) => el.lock);
    return drawDecoration(ctx, { els, frame, guides: this.guides, handles }, zoom);
  }
}
