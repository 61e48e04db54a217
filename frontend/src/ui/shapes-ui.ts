/**
 * The board page's controls for issue 16's shapes and styles: the "More styles" button (the
 * panel itself is built by ui/style-panel.ts, loaded on first use), renaming a frame (double-
 * click its name or its border, or "Rename frame" in the selection's actions) and "Export frame"
 * (the export endpoint's `frame=<id>` option: that frame's region alone).
 */
import { request } from "../api";
import { frameHit } from "../canvas/shapes";
import type { Editor } from "../editor";
import type { Element } from "../protocol";
import { updatedEntry } from "../undo";
import { $, download, h } from "./dom";

/** Slack around a frame's border for a double-click, in screen pixels. */
const FRAME_SLOP_PX = 8;

type Panel = { toggle(): void };

export class BoardShapes {
  private panel: Promise<Panel> | null = null;

  constructor(private readonly ed: Editor) {
    const button = $("btn-style-panel");
    button.addEventListener("click", () => void this.stylePanel().then((p) => p.toggle()));
    // Capturing: it runs before text editing's double-click, which would open a new text there.
    $("board-canvas").addEventListener("dblclick", (e) => this.dblclick(e), { capture: true });
    this.wireSelectionSheet();
  }

  /** The style panel, its module loaded and built on first use. */
  private stylePanel(): Promise<Panel> {
    this.panel ??= import("./style-panel").then((m) => new m.StylePanel(this.ed, $("btn-style-panel")));
    return this.panel;
  }

  /** The frame at a canvas point (its name or border), topmost first. */
  private frameAt(screen: [number, number]): Element | null {
    const [x, y] = this.ed.camera.toWorld(...screen);
    const slop = FRAME_SLOP_PX / this.ed.camera.zoom;
    const els = this.ed.scene().query({ minX: x - slop - 400, minY: y - slop, maxX: x + slop, maxY: y + slop + 30 });
    for (let k = els.length - 1; k >= 0; k--) {
      if (els[k].type === "frame" && frameHit(els[k], x, y, slop)) return els[k];
    }
    return null;
  }

  private dblclick(e: MouseEvent): void {
    if (this.ed.readOnly) return;
    const r = (e.target as HTMLElement).getBoundingClientRect();
    const frame = this.frameAt([e.clientX - r.left, e.clientY - r.top]);
    if (!frame) return;
    e.stopImmediatePropagation();
    this.rename(frame);
  }

  /** An input over the frame's name; Enter or leaving it renames (one undo step), Escape keeps it. */
  rename(frame: Element): void {
    const [left, top] = this.ed.camera.toScreen(Math.min(frame.x, frame.x + (frame.w ?? 0)), Math.min(frame.y, frame.y + (frame.h ?? 0)));
    const canvas = $("board-canvas").getBoundingClientRect();
    const input = h("input", { id: "frame-name", class: "frame-name", "aria-label": "Frame name", maxlength: "200" });
    input.value = frame.name ?? "";
    input.style.left = `${canvas.left + left}px`;
    input.style.top = `${canvas.top + top - 28}px`;
    document.body.append(input);
    let done = false;
    const finish = (commit: boolean) => {
      if (done) return;
      done = true;
      input.remove();
      const name = input.value.slice(0, 200);
      const now = this.ed.sync.view().elements.get(frame.id);
      if (!commit || !now || name === now.name) return;
      this.ed.submit([{ k: "upd", id: frame.id, set: { name } }]);
      this.ed.undoStack.push(updatedEntry(frame.id, { name: now.name ?? "" }, { name }));
      $("board-canvas").focus();
    };
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") finish(true);
      else if (e.key === "Escape") finish(false);
    });
    input.addEventListener("blur", () => finish(true));
    input.focus();
    input.select();
  }

  /** The selected element if it is exactly one frame. */
  private selectedFrame(): Element | null {
    if (this.ed.selection.size !== 1) return null;
    const [id] = this.ed.selection;
    const el = this.ed.sync.view().elements.get(id);
    return el?.type === "frame" ? el : null;
  }

  private wireSelectionSheet(): void {
    const dlg = $<HTMLDialogElement>("dlg-selection");
    const row = $("sel-frame");
    new MutationObserver(() => {
      if (dlg.open) row.hidden = this.selectedFrame() === null;
    }).observe(dlg, { attributes: true, attributeFilter: ["open"] });
    $("sel-frame-rename").addEventListener("click", () => {
      const frame = this.selectedFrame();
      dlg.close();
      if (frame && !this.ed.readOnly) this.rename(frame);
    });
    $("sel-frame-export").addEventListener("click", () => {
      const frame = this.selectedFrame();
      dlg.close();
      if (frame) void this.exportFrame(frame);
    });
  }

  /** Download a PNG of the frame's region (the export endpoint's `frame` option). */
  async exportFrame(frame: Element): Promise<void> {
    const board = encodeURIComponent(document.body.dataset.boardId ?? "");
    const path = `/boards/${board}/export/png/?frame=${encodeURIComponent(frame.id)}`;
    try {
      const blob = await request<Blob>("GET", path, undefined, { blob: true });
      const name = (frame.name || "frame").replace(/[^\w.-]+/g, "_");
      download(blob, `${name}.png`);
    } catch (err) {
      console.warn("inkroom: frame export failed", err);
    }
  }
}
