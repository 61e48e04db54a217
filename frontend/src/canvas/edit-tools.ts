/**
 * The tools that edit what is already there (eraser, select/move/marquee), place text, or only
 * move the camera (hand). Pen and shape tools live in tools.ts, with the Tool interface.
 */
import type { Box } from "../ops";
import type { Element } from "../protocol";
import { addedEntry, deleteOps, deletedEntry, movedEntry } from "../undo";
import { inMarquee, topmostAt } from "./hit";
import { hitSlop, newElementId, type PointerSample, type Tool, type ToolHost } from "./tool";

export class EraserTool implements Tool {
  private erased: Element[] = [];
  private active = false;

  constructor(private readonly host: ToolHost) {}

  down(p: PointerSample): void {
    this.active = true;
    this.erased = [];
    this.move([p]);
  }

  move(samples: readonly PointerSample[]): void {
    if (!this.active) return;
    const scene = this.host.scene();
    const hit = new Map<string, Element>();
    for (const p of samples) {
      const el = topmostAt(scene, p.x, p.y, hitSlop(p, this.host.zoom()));
      if (el) hit.set(el.id, el);
    }
    if (hit.size === 0) return;
    this.erased.push(...hit.values());
    this.host.submit(deleteOps([...hit.keys()]));
  }

  up(): void {
    if (this.erased.length > 0) this.host.record(deletedEntry(this.erased));
    this.active = false;
    this.erased = [];
  }

  tick(): void {}
  drafts(): Element[] {
    return [];
  }
  marquee(): Box | null {
    return null;
  }
}

export class SelectTool implements Tool {
  private origin: PointerSample | null = null;
  private mode: "move" | "marquee" | null = null;
  private dx = 0;
  private dy = 0;
  private box: Box | null = null;

  constructor(private readonly host: ToolHost) {}

  down(p: PointerSample): void {
    const sel = this.host.selection;
    const el = topmostAt(this.host.scene(), p.x, p.y, hitSlop(p, this.host.zoom()));
    this.origin = p;
    this.dx = 0;
    this.dy = 0;
    if (el) {
      if (!sel.has(el.id)) {
        if (!p.shift) sel.clear();
        sel.add(el.id);
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
    if (this.mode === "move") {
      this.dx = Math.round(p.x - o.x);
      this.dy = Math.round(p.y - o.y);
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
    const ids = [...this.host.selection];
    if (this.mode === "move" && (this.dx !== 0 || this.dy !== 0) && ids.length > 0) {
      this.host.submit([{ k: "mov", ids, dx: this.dx, dy: this.dy }]);
      this.host.record(movedEntry(ids, this.dx, this.dy));
    } else if (this.mode === "marquee" && this.box) {
      for (const id of inMarquee(this.host.scene(), this.box)) this.host.selection.add(id);
    }
    this.mode = null;
    this.origin = null;
    this.box = null;
    this.dx = 0;
    this.dy = 0;
  }

  tick(): void {}

  drafts(): Element[] {
    if (this.mode !== "move" || (this.dx === 0 && this.dy === 0)) return [];
    const view = this.host.view();
    return [...this.host.selection]
      .map((id) => view.elements.get(id))
      .filter((el): el is Element => !!el)
      .map((el) => ({ ...el, x: el.x + this.dx, y: el.y + this.dy }));
  }

  marquee(): Box | null {
    return this.box;
  }
}

export class TextTool implements Tool {
  constructor(private readonly host: ToolHost) {}

  down(p: PointerSample): void {
    const x = Math.round(p.x);
    const y = Math.round(p.y);
    this.host.editText(x, y, (text) => {
      if (!text.trim()) return;
      const el: Element = {
        id: newElementId(),
        type: "text",
        x,
        y,
        text: text.slice(0, 10_000),
        size: this.host.textSize(),
        style: this.host.style("text"),
      };
      this.host.submit([{ k: "add", el }]);
      this.host.record(addedEntry([el.id]));
    });
  }
  move(): void {}
  up(): void {}
  tick(): void {}
  drafts(): Element[] {
    return [];
  }
  marquee(): Box | null {
    return null;
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
