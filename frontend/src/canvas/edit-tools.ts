/**
 * The tools that edit what is already there (eraser, select/move/marquee) or only move the
 * camera (hand). Pen and shape tools live in tools.ts, the text tool in text-tool.ts.
 */
import type { Box } from "../ops";
import type { Element } from "../protocol";
import { restoreZ } from "../bindings";
import type { NewOp } from "../sync";
import { deleteOps, deletedEntry, MAX_IDS_PER_OP, movedEntry } from "../undo";
import { groupOf, lockBadges, withGroups } from "./groups";
import { detach, EndpointDrag, followers, topmostFree } from "./attach";
import { inMarquee } from "./hit";
import { hitSlop, MOVE_CURSOR, type PointerSample, type Tool, type ToolHost } from "./tool";

export class EraserTool implements Tool {
  private erased: Element[] = [];
  /** The `ord` ops that put what was erased back in z-order on undo. */
  private restore: NewOp[] = [];
  private active = false;

  constructor(private readonly host: ToolHost) {}

  down(p: PointerSample): void {
    this.active = true;
    this.erased = [];
    this.restore = [];
    this.move([p]);
  }

  move(samples: readonly PointerSample[]): void {
    if (!this.active) return;
    const scene = this.host.scene();
    const hit = new Map<string, Element>();
    for (const p of samples) {
      const el = topmostFree(scene, p.x, p.y, hitSlop(p, this.host.zoom()));
      if (el) hit.set(el.id, el);
    }
    if (hit.size === 0) return;
    // Latest first: each batch's places are among what the later ones took away.
    this.restore.unshift(...restoreZ(this.host.view().elements, new Set(hit.keys()), MAX_IDS_PER_OP));
    this.erased.push(...hit.values());
    this.host.submit(deleteOps([...hit.keys()]));
  }

  up(): void {
    if (this.erased.length > 0) this.host.record(deletedEntry(this.erased, this.restore));
    this.active = false;
    this.erased = [];
    this.restore = [];
  }

  tick(): void {}
  drafts(): Element[] {
    return [];
  }
  marquee(): Box | null {
    return null;
  }
}

/** Two presses on one element this close (ms) are a double-click. */
const DOUBLE_CLICK_MS = 400;

export class SelectTool implements Tool {
  private origin: PointerSample | null = null;
  private mode: "move" | "marquee" | null = null;
  private dx = 0;
  private dy = 0;
  private box: Box | null = null;
  private readonly endpoint: EndpointDrag;
  /** The last press on an element, to tell a double-click (which enters its group). */
  private lastPress = { id: "", at: -Infinity };
  /** Adjusts a move's offset as the pointer goes (snapping: transform-tool.ts). */
  snap: ((dx: number, dy: number, p: PointerSample) => [number, number]) | null = null;

  constructor(private readonly host: ToolHost) {
    this.endpoint = new EndpointDrag(host);
  }

  down(p: PointerSample): void {
    const sel = this.host.selection;
    this.origin = p;
    this.dx = 0;
    this.dy = 0;
    if (this.endpoint.down(p)) {
      this.mode = null;
      return;
    }
    // Locked elements are skipped (select them with the context menu); a click takes the
    // element's whole outermost group, a double-click the element alone.
    const el = topmostFree(this.host.scene(), p.x, p.y, hitSlop(p, this.host.zoom()));
    if (el) {
      const now = this.host.now();
      const again = this.lastPress.id === el.id && now - this.lastPress.at < DOUBLE_CLICK_MS;
      this.lastPress = { id: el.id, at: now };
      if (again && el.grp) {
        sel.clear();
        sel.add(el.id);
      } else if (!sel.has(el.id)) {
        if (!p.shift) sel.clear();
        for (const id of groupOf(this.host.view(), el)) sel.add(id);
      }
      this.mode = "move";
    } else {
      if (!p.shift) sel.clear();
      this.mode = "marquee";
      this.box = { minX: p.x, minY: p.y, maxX: p.x, maxY: p.y };
    }
  }

  move(samples: readonly PointerSample[]): void {
    const o = this.origin;
    const p = samples[samples.length - 1];
    if (!o || !p) return;
    if (this.endpoint.active) this.endpoint.move(p);
    else if (this.mode === "move") {
      this.dx = Math.round(p.x - o.x);
      this.dy = Math.round(p.y - o.y);
      if (this.snap) [this.dx, this.dy] = this.snap(this.dx, this.dy, p);
    } else if (this.mode === "marquee") {
      this.box = {
        minX: Math.min(o.x, p.x),
        minY: Math.min(o.y, p.y),
        maxX: Math.max(o.x, p.x),
        maxY: Math.max(o.y, p.y),
      };
    }
  }

  up(): void {
    const view = this.host.view();
    const ids = [...this.host.selection].filter((id) => !view.elements.get(id)?.lock);
    if (this.endpoint.active) {
      this.endpoint.up();
    } else if (this.mode === "move" && (this.dx !== 0 || this.dy !== 0) && ids.length > 0) {
      // A line moved without its box lets go of it (else its bound end would stay put).
      const loose = detach(view, ids);
      this.host.submit([...loose.ops, { k: "mov", ids, dx: this.dx, dy: this.dy }]);
      const moved = movedEntry(ids, this.dx, this.dy);
      this.host.record({
        undo: (state) => [...moved.undo(state), ...loose.undo],
        redo: (state) => [...loose.ops, ...moved.redo(state)],
      });
    } else if (this.mode === "marquee" && this.box) {
      const hit = inMarquee(this.host.scene(), this.box).map((id) => view.elements.get(id));
      const free = hit.filter((el): el is Element => !!el && !el.lock);
      for (const id of withGroups(view, free)) this.host.selection.add(id);
    }
    this.mode = null;
    this.origin = null;
    this.box = null;
    this.dx = 0;
    this.dy = 0;
  }

  tick(): void {}

  drafts(): Element[] {
    const view = this.host.view();
    const badges = lockBadges(view, this.host.selection, this.host.zoom());
    if (this.endpoint.active) return [...this.endpoint.drafts(), ...badges];
    if (this.mode !== "move" || (this.dx === 0 && this.dy === 0)) return badges;
    const moved = [...this.host.selection]
      .map((id) => view.elements.get(id))
      .filter((el): el is Element => !!el && !el.lock)
      .map((el) => ({ ...el, x: el.x + this.dx, y: el.y + this.dy }));
    return [...moved, ...followers(view, new Map(moved.map((el) => [el.id, el]))), ...badges];
  }

  marquee(): Box | null {
    return this.box;
  }

  /** `move` while moving, and over a selected element a drag would move. */
  cursor(p: PointerSample): string | null {
    if (this.mode === "move") return MOVE_CURSOR;
    if (this.origin) return null;
    const el = topmostFree(this.host.scene(), p.x, p.y, hitSlop(p, this.host.zoom()));
    return el && this.host.selection.has(el.id) ? MOVE_CURSOR : null;
  }
}

export class HandTool implements Tool {
  private last: PointerSample | null = null;
  constructor(private readonly host: ToolHost) {}
  down(p: PointerSample): void {
    this.last = p;
  }
  move(samples: readonly PointerSample[]): void {
    const p = samples[samples.length - 1];
    if (!this.last || !p) return;
    const z = this.host.zoom();
    // Pan so the grabbed world point is back under the pointer; it stays the anchor, since
    // samples arrive in world coordinates of the camera as it is after each pan.
    this.host.pan((p.x - this.last.x) * z, (p.y - this.last.y) * z);
  }
  up(): void {
    this.last = null;
  }
  tick(): void {}
  drafts(): Element[] {
    return [];
  }
  marquee(): Box | null {
    return null;
  }
}
