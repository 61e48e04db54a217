/**
 * The arrange actions of the board page: z-order (`]` `[`, Ctrl+Shift+] to front,
 * Ctrl+Shift+[ to back), group (Ctrl+G) and ungroup (Ctrl+Shift+G), lock (Ctrl+Shift+L), align
 * and distribute, from the keyboard and from the Arrange sheet (opened from the selection's).
 * Each is one undo step.
 */
import type { Alignment, Arranged, Distribution, ZMove } from "../canvas/arrange";
import type { BoardState } from "../ops";
import type { Editor } from "../editor";
import { $ } from "./dom";

type Arrange = typeof import("../canvas/arrange");
/** An arrange action: which function of arrange.ts (loaded on first use) to apply. */
type Action = (a: Arrange, state: BoardState, selection: ReadonlySet<string>) => Arranged | null;

const ORDER_KEYS: Record<string, ZMove> = { BracketRight: "forward", BracketLeft: "backward" };
const ORDER_KEYS_SHIFTED: Record<string, ZMove> = { BracketRight: "front", BracketLeft: "back" };

export class StructureActions {
  constructor(private readonly ed: Editor) {
    // On the document, so it runs before the page's window-level keys: `[` and `]` change the
    // pen width there, and do so here too when nothing is selected.
    document.addEventListener("keydown", (e) => {
      if ((e.target as HTMLElement).closest?.("input, textarea, select, dialog, [contenteditable]")) return;
      const action = this.keyAction(e);
      if (!action) return;
      e.preventDefault();
      e.stopPropagation();
      this.run(action);
    });
    this.wireSheet();
  }

  private keyAction(e: KeyboardEvent): Action | null {
    const mod = e.ctrlKey || e.metaKey;
    if (e.altKey || this.ed.selection.size === 0) return null;
    const key = e.key.toLowerCase();
    const order = mod && e.shiftKey ? ORDER_KEYS_SHIFTED[e.code] : !mod && !e.shiftKey ? ORDER_KEYS[e.code] : undefined;
    if (order) return (a, s, sel) => a.arrangeOrder(s, sel, order);
    if (mod && key === "g") return e.shiftKey ? (a, s, sel) => a.ungroup(s, sel) : (a, s, sel) => a.group(s, sel);
    if (mod && e.shiftKey && key === "l") return (a, s, sel) => a.toggleLock(s, sel);
    return null;
  }

  /** Apply an action to the selection: submit its ops and record its undo step. */
  run(action: Action): void {
    // The first action of a page loads the module (a few ms); keys pressed meanwhile queue up.
    const loading = this.loaded ?? import("../canvas/arrange");
    this.loaded = loading.then((a) => {
      this.apply(a, action);
      return a;
    });
    // A failed load (offline before the chunk was cached) is tried again by the next action.
    this.loaded.catch((err: unknown) => {
      console.warn("inkroom: arrange actions unavailable", err);
      this.loaded = null;
    });
  }

  private loaded: Promise<Arrange> | null = null;

  private apply(a: Arrange, action: Action): void {
    if (this.ed.readOnly) return;
    const done = action(a, this.ed.sync.view(), this.ed.selection);
    if (!done) return;
    this.ed.submit(done.ops);
    this.ed.undoStack.push(done.entry);
    this.ed.invalidate();
    this.labelLock();
  }

  private wireSheet(): void {
    const on = (id: string, action: Action) => $(id).addEventListener("click", () => this.run(action));
    for (const move of ["front", "forward", "backward", "back"] as ZMove[]) {
      on(`sel-z-${move}`, (a, s, sel) => a.arrangeOrder(s, sel, move));
    }
    on("sel-group", (a, s, sel) => a.group(s, sel));
    on("sel-ungroup", (a, s, sel) => a.ungroup(s, sel));
    on("sel-lock", (a, s, sel) => a.toggleLock(s, sel));
    for (const how of ["left", "centre", "right", "top", "middle", "bottom"] as Alignment[]) {
      on(`sel-align-${how}`, (a, s, sel) => a.align(s, sel, how));
    }
    for (const axis of ["horizontal", "vertical"] as Distribution[]) {
      on(`sel-distribute-${axis}`, (a, s, sel) => a.distribute(s, sel, axis));
    }
    // A sheet of its own over the selection's (which keeps its height: a finger lifting from a
    // long-press must not land on a button of the sheet it opened).
    const sheet = $<HTMLDialogElement>("dlg-arrange");
    $("sel-arrange").addEventListener("click", () => {
      this.labelLock();
      sheet.showModal();
    });
  }

  private labelLock(): void {
    const view = this.ed.sync.view();
    const els = [...this.ed.selection].map((id) => view.elements.get(id));
    const locked = els.length > 0 && els.every((el) => el?.lock);
    $("sel-lock").textContent = locked ? "Unlock" : "Lock";
  }
}
