/**
 * The text controls (the "Aa" popover): size presets (S M L XL), a numeric size and the
 * alignment. A change applies to new texts and, as one undoable step, to the selected texts and
 * box-shape labels and to the text being edited (the buttons keep the editor's focus).
 */
import { isLabelled, type Align } from "../canvas/text-layout";
import type { Editor } from "../editor";
import type { Element, ElementPatch } from "../protocol";
import { updatedEntry } from "../undo";
import type { TextEditing } from "./text-edit";

const SIZE_MIN = 4;
const SIZE_MAX = 512;

function texty(el: Element | undefined): el is Element {
  return el !== undefined && (el.type === "text" || (isLabelled(el) && !!el.text));
}

/** Set `patch` (size or align) on the selected texts/labels and the one being edited. */
function applyToTexts(ed: Editor, texts: TextEditing, patch: { size?: number; align?: Align }): void {
  if (ed.readOnly) return;
  const view = ed.sync.view();
  const ids = new Set(ed.selection);
  const editing = texts.editingId;
  if (editing) ids.add(editing);
  const els = [...ids].map((id) => view.elements.get(id)).filter(texty);
  if (els.length === 0) return;
  const entries = els.map((el) => {
    const before: ElementPatch = {};
    if (patch.size !== undefined) before.size = el.size ?? null;
    if (patch.align !== undefined) before.align = el.align ?? null;
    return updatedEntry(el.id, before, patch);
  });
  ed.submit(els.map((el) => ({ k: "upd", id: el.id, set: patch })));
  ed.undoStack.push({
    undo: (state) => entries.flatMap((e) => e.undo(state)),
    redo: (state) => entries.flatMap((e) => e.redo(state)),
  });
}

export function wireTextControls(ed: Editor, texts: TextEditing): void {
  const sizeInput = document.querySelector<HTMLInputElement>("#text-size");
  const show = () => {
    for (const b of document.querySelectorAll<HTMLButtonElement>("[data-text-size]")) {
      b.setAttribute("aria-pressed", String(Number(b.dataset.textSize) === ed.palette.textSize));
    }
    for (const b of document.querySelectorAll<HTMLButtonElement>("[data-align]")) {
      b.setAttribute("aria-pressed", String(b.dataset.align === texts.align));
    }
    if (sizeInput && document.activeElement !== sizeInput) sizeInput.value = String(ed.palette.textSize);
  };
  const setSize = (size: number) => {
    if (!Number.isInteger(size) || size < SIZE_MIN || size > SIZE_MAX) return;
    ed.palette.textSize = size;
    applyToTexts(ed, texts, { size });
    show();
  };
  // The text being edited keeps the focus (a blur would commit and close it).
  document.querySelector("#btn-text-style")?.addEventListener("mousedown", (e) => e.preventDefault());
  for (const b of document.querySelectorAll<HTMLButtonElement>("[data-text-size], [data-align]")) {
    b.addEventListener("mousedown", (e) => e.preventDefault());
    b.addEventListener("click", () => {
      if (b.dataset.textSize) return setSize(Number(b.dataset.textSize));
      texts.align = b.dataset.align as Align;
      applyToTexts(ed, texts, { align: texts.align });
      show();
    });
  }
  sizeInput?.addEventListener("change", () => setSize(Math.round(Number(sizeInput.value))));
  show();
}
