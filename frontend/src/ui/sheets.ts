/**
 * The board page's popovers and sheets: the board menu (a bottom sheet on phones), the shape
 * and style popovers of the compact toolbar, the context actions of a long-press or right
 * click, and dialogs that close on a tap beside them. Which of them are popovers at all is up to the stylesheet (layout.css); this module
 * places them, closes them after a choice, and keeps the toolbar buttons that open them telling
 * the current shape and colour.
 */
import { topmostAt } from "../canvas/hit";
import { TOUCH_HIT_SLOP_PX } from "../canvas/tool";
import type { Editor } from "../editor";
import { $ } from "./dom";

/** Gap between a popover and its button, and its least distance from the window's edges (px). */
const POPOVER_GAP_PX = 8;
/** A press on the board this soon (ms) after a popover closed is the press that closed it. */
const DISMISS_PRESS_MS = 150;

/** Where a popover goes: beside its button, on the side with more room, inside the window. */
export function popoverPlace(
  button: { left: number; top: number; right: number; bottom: number },
  size: { width: number; height: number },
  view: { width: number; height: number },
  gap = POPOVER_GAP_PX,
): { left: number; top: number } {
  const above = button.top + button.bottom > view.height;
  const top = above ? button.top - size.height - gap : button.bottom + gap;
  const centred = (button.left + button.right) / 2 - size.width / 2;
  const left = Math.max(gap, Math.min(view.width - size.width - gap, centred));
  return { left: Math.max(0, left), top: Math.max(gap, Math.min(view.height - size.height - gap, top)) };
}

export class BoardSheets {
  private closedAt = -Infinity;

  constructor(private readonly ed: Editor) {
    for (const pop of document.querySelectorAll<HTMLElement>("[popover]")) this.wirePopover(pop);
    for (const b of document.querySelectorAll<HTMLButtonElement>("[data-proxy]")) {
      b.addEventListener("click", () => $(b.dataset.proxy ?? "").click());
    }
    this.swallowDismissingPress();
    for (const d of document.querySelectorAll<HTMLDialogElement>("dialog")) {
      this.closeOnBackdrop(d);
      this.focusSheetNotField(d);
    }
    this.mirrorCurrentShape();
    this.mirrorCurrentColour();
    this.wireSelectionSheet();
  }

  /**
   * The context actions for a canvas point: what is under it (with a fingertip's slack, for a
   * long-press and a right click alike) becomes the selection first.
   */
  openSelection(screen: [number, number]): void {
    const [x, y] = this.ed.camera.toWorld(...screen);
    const el = topmostAt(this.ed.scene(), x, y, TOUCH_HIT_SLOP_PX / this.ed.camera.zoom);
    // Empty space keeps the selection: its actions are one long-press away from anywhere.
    if (el && !this.ed.selection.has(el.id)) {
      this.ed.selection.clear();
      this.ed.selection.add(el.id);
    }
    this.ed.invalidate();
    this.renderCount();
    const dlg = $<HTMLDialogElement>("dlg-selection");
    if (!dlg.open) dlg.showModal();
  }

  private wirePopover(pop: HTMLElement): void {
    const button = document.querySelector<HTMLElement>(`[popovertarget="${pop.id}"]`);
    pop.addEventListener("toggle", (e) => {
      const open = (e as ToggleEvent).newState === "open";
      button?.setAttribute("aria-expanded", String(open));
      // Hidden (layout.css) until placed: the toggle event comes a moment after it opened.
      // An invoker hidden on this layout (pressed through a proxy in the board menu) leaves
      // the popover by the menu's button instead.
      const anchor = button?.checkVisibility() ? button : document.getElementById("btn-menu");
      if (open && anchor && pop.id !== "board-menu") this.place(pop, anchor);
      pop.toggleAttribute("data-placed", open);
    });
    let choosing = false;
    pop.addEventListener("beforetoggle", (e) => {
      if ((e as ToggleEvent).newState === "closed" && !choosing) this.closedAt = performance.now();
    });
    // A choice closes the popover (so the next touch on the board draws).
    pop.addEventListener("click", (e) => {
      if (!(e.target as HTMLElement).closest("button") || !pop.matches(":popover-open")) return;
      choosing = true;
      pop.hidePopover();
      choosing = false;
    });
  }

  /**
   * On a touch screen a sheet opens with the focus on itself, not on its first field (where
   * showModal puts it): the keyboard rises when a field is tapped, not over the sheet that just
   * opened. The observer runs before the page is drawn again.
   */
  private focusSheetNotField(d: HTMLDialogElement): void {
    if (!matchMedia("(pointer: coarse)").matches) return;
    d.tabIndex = -1;
    new MutationObserver(() => {
      if (d.open && document.activeElement?.matches("input, textarea, select")) d.focus();
    }).observe(d, { attributes: true, attributeFilter: ["open"] });
  }

  /**
   * A tap beside a dialog (on its backdrop) closes it, as it does a sheet or a popover. Only a
   * press that began there: the finger of a long-press lifts over the backdrop of the sheet it
   * opened.
   */
  private closeOnBackdrop(d: HTMLDialogElement): void {
    const beside = (e: MouseEvent) => {
      const r = d.getBoundingClientRect();
      const inside = e.clientX >= r.left && e.clientX <= r.right && e.clientY >= r.top && e.clientY <= r.bottom;
      return e.target === d && !inside;
    };
    let pressed = false;
    d.addEventListener("pointerdown", (e) => (pressed = beside(e)));
    d.addEventListener("click", (e) => {
      if (pressed && beside(e)) d.close();
      pressed = false;
    });
  }

  private place(pop: HTMLElement, button: HTMLElement): void {
    const rect = pop.getBoundingClientRect();
    const { left, top } = popoverPlace(button.getBoundingClientRect(), rect, { width: innerWidth, height: innerHeight });
    Object.assign(pop.style, { left: `${left}px`, top: `${top}px`, right: "auto", bottom: "auto" });
  }

  /**
   * Tapping the board to close a popover (light dismiss) must not also draw there: the browser
   * closes the popover on the press, and the press itself stops here.
   */
  private swallowDismissingPress(): void {
    $("board-canvas").parentElement?.addEventListener(
      "pointerdown",
      (e) => {
        const open = document.querySelector("[popover]:popover-open");
        const visible = open !== null && getComputedStyle(open).position === "fixed";
        if (visible || performance.now() - this.closedAt < DISMISS_PRESS_MS) {
          e.stopPropagation();
          e.preventDefault();
        }
      },
      { capture: true },
    );
  }

  /** The shapes button shows the shape tool last chosen, pressed while it is the tool. */
  private mirrorCurrentShape(): void {
    const button = $("btn-shapes");
    const shapes = [...document.querySelectorAll<HTMLButtonElement>("#shape-pop [data-tool]")];
    const update = () => {
      const current = shapes.find((b) => b.getAttribute("aria-pressed") === "true");
      button.setAttribute("aria-pressed", String(current !== undefined));
      if (current) {
        button.textContent = current.textContent;
        button.setAttribute("aria-label", `Shapes: ${current.getAttribute("aria-label") ?? ""}`);
      }
    };
    const watch = new MutationObserver(update);
    for (const b of shapes) watch.observe(b, { attributes: true, attributeFilter: ["aria-pressed"] });
    update();
  }

  /** The style button wears the current colour. */
  private mirrorCurrentColour(): void {
    const button = $("btn-style");
    const swatches = [...document.querySelectorAll<HTMLButtonElement>("#style-pop [data-color]")];
    const update = () => {
      const current = swatches.find((b) => b.classList.contains("active"));
      if (current) button.style.setProperty("--current", current.dataset.color ?? "");
    };
    const watch = new MutationObserver(update);
    for (const b of swatches) watch.observe(b, { attributes: true, attributeFilter: ["class"] });
    update();
  }

  private wireSelectionSheet(): void {
    const dlg = $<HTMLDialogElement>("dlg-selection");
    $("sel-delete").addEventListener("click", () => {
      this.ed.deleteSelection();
      dlg.close();
    });
    $("sel-all").addEventListener("click", () => {
      for (const id of this.ed.sync.view().elements.keys()) this.ed.selection.add(id);
      this.ed.invalidate();
      this.renderCount();
    });
    dlg.addEventListener("click", (e) => {
      // Colours and widths restyle the selection (board-ui.ts); the count may have changed.
      if ((e.target as HTMLElement).closest("[data-color], [data-width]")) this.renderCount();
    });
    dlg.addEventListener("close", () => {
      // Outside the select tool a selection has no use once its actions are done with.
      if (this.ed.toolName !== "select") {
        this.ed.selection.clear();
        this.ed.invalidate();
      }
    });
  }

  private renderCount(): void {
    const n = this.ed.selection.size;
    const readOnly = this.ed.readOnly;
    $("sel-count").textContent = n === 0 ? "Nothing selected" : `${n} selected${readOnly ? " (read-only)" : ""}`;
    for (const b of document.querySelectorAll<HTMLButtonElement>("#dlg-selection .row button")) {
      // Select all works on anything; Paste needs no selection (clipboard.ts).
      b.disabled = b.id === "sel-all" ? false : b.id === "sel-paste" ? readOnly : n === 0 || readOnly;
    }
  }
}
