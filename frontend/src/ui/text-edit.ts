/**
 * Editing text in place: a textarea laid over the board where the text is drawn, in its font,
 * size and alignment, following the camera; for a new text (the text tool), a text element
 * (double-click, or the text tool on it) or a box shape's label (double-click the shape).
 *
 * Enter breaks a line; Escape, Ctrl/Cmd+Enter or a click outside commits. Committing sends one
 * `upd` of `text` (last writer wins per element) recorded for undo with the text it replaced,
 * so Ctrl+Z puts that back exactly; an empty text deletes the element (a label: removes it).
 * Someone else's edit of the element being edited shows a notice naming them and leaves the
 * draft alone: committing overwrites theirs, undo brings theirs back.
 */
import { toolStyle } from "../canvas/palette";
import { labelFrame, textFrame, FONT_STACKS, type TextFrame } from "../canvas/text-draw";
import { DEFAULT_LABEL_SIZE, fontOf, isLabelled, LINE_HEIGHT, type Align } from "../canvas/text-layout";
import { editableAt, type TextTarget } from "../canvas/text-tool";
import type { Editor } from "../editor";
import type { Element, ElementPatch, LogEntry } from "../protocol";
import { newElementId } from "../canvas/tool";
import { addedEntry, deletedEntry, updatedEntry } from "../undo";
import { $, h } from "./dom";
import { avoidKeyboard } from "./keyboard";

/** The most characters a text may have (protocol §3.1). */
const TEXT_MAX_CHARS = 10_000;

interface Session {
  target: TextTarget;
  /** The element as it was when editing began (null for a new text). */
  original: Element | null;
  stop(): void;
}

export class TextEditing {
  /** Alignment of new texts (the toolbar's; a text's own is in the element). */
  align: Align = "left";
  private session: Session | null = null;
  private readonly input = $<HTMLTextAreaElement>("text-input");
  private readonly notice = h("div", { id: "text-notice", class: "text-notice", role: "status", hidden: "" });

  constructor(private readonly ed: Editor) {
    this.input.after(this.notice);
    this.input.maxLength = TEXT_MAX_CHARS;
    ed.sync.entryListeners.add((entry) => this.observe(entry));
    const canvas = $<HTMLCanvasElement>("board-canvas");
    // What was selected before each of the last two presses: a double-click on a member of a
    // group that was not selected alone enters the group (canvas/edit-tools.ts), not its text.
    const before: (string | null)[] = [null, null];
    canvas.addEventListener(
      "pointerdown",
      () => before.splice(0, 2, before[1], ed.selection.size === 1 ? [...ed.selection][0] : null),
      { capture: true },
    );
    canvas.addEventListener("dblclick", (e) => {
      if (this.ed.readOnly || this.ed.toolName !== "select") return;
      const r = canvas.getBoundingClientRect();
      const [x, y] = ed.camera.toWorld(e.clientX - r.left, e.clientY - r.top);
      const el = editableAt(ed.scene(), { x, y, pressure: null, shift: false }, ed.camera.zoom);
      if (el?.grp?.length && before[0] !== el.id) return;
      this.open(el ? { kind: "element", id: el.id } : { kind: "new", x: Math.round(x), y: Math.round(y) });
    });
    // Enter edits the one selected text or box shape (as double-clicking it does).
    window.addEventListener("keydown", (e) => {
      if (e.key !== "Enter" || e.ctrlKey || e.metaKey || e.altKey || e.shiftKey || this.session) return;
      if ((e.target as HTMLElement).closest("input, textarea, select, dialog, button, a")) return;
      const [id] = ed.selection;
      const el = ed.selection.size === 1 ? ed.sync.view().elements.get(id) : undefined;
      if (!el || ed.readOnly || el.lock || (el.type !== "text" && !isLabelled(el))) return;
      e.preventDefault();
      this.open({ kind: "element", id });
    });
  }

  /** The id of the element being edited (null for none, or a new text). */
  get editingId(): string | null {
    const t = this.session?.target;
    return t?.kind === "element" ? t.id : null;
  }

  open(target: TextTarget): void {
    this.finish(true);
    if (this.ed.readOnly) return;
    const original = target.kind === "element" ? (this.ed.sync.view().elements.get(target.id) ?? null) : null;
    if (target.kind === "element" && !original) return;
    const input = this.input;
    input.value = original?.text ?? "";
    input.hidden = false;
    this.notice.hidden = true;
    let frame = 0;
    const follow = () => {
      this.place();
      frame = requestAnimationFrame(follow);
    };
    input.oninput = () => this.place();
    input.onkeydown = (e) => {
      if (e.key === "Escape" || (e.key === "Enter" && (e.ctrlKey || e.metaKey))) {
        e.preventDefault();
        this.finish(true);
      }
    };
    input.onblur = () => this.finish(true);
    const stopAvoiding = avoidKeyboard(input, $("board-canvas"), (dy) => this.ed.panBy(0, dy));
    this.session = {
      target,
      original,
      stop: () => {
        cancelAnimationFrame(frame);
        stopAvoiding();
      },
    };
    this.place();
    follow();
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
  }

  /** End the session, committing the draft (a click outside, Escape) or dropping it. */
  finish(commit: boolean): void {
    const s = this.session;
    if (!s) return;
    this.session = null;
    s.stop();
    const input = this.input;
    input.hidden = true;
    input.oninput = input.onkeydown = input.onblur = null;
    this.notice.hidden = true;
    if (commit) this.commit(s, input.value);
    $("board-canvas").focus({ preventScroll: true });
    this.ed.invalidate();
  }

  /** The element as the draft would make it, for layout. */
  private draftElement(s: Session, text: string): Element {
    if (s.target.kind === "new") {
      const el: Element = { id: "", type: "text", x: s.target.x, y: s.target.y, text, size: this.ed.palette.textSize, style: toolStyle("text", this.ed.palette) };
      if (s.target.w !== undefined) el.w = s.target.w;
      if (this.align !== "left") el.align = this.align;
      return el;
    }
    const el = this.ed.sync.view().elements.get(s.target.id) ?? s.original!;
    return { ...el, text };
  }

  /**
   * Lay the textarea over where the draft is drawn, at the camera's zoom, and over the text
   * drawn now (which may be longer: someone else's, or before a deletion), hiding it.
   */
  private place(): void {
    const s = this.session;
    if (!s) return;
    const el = this.draftElement(s, this.input.value);
    const label = el.type !== "text";
    const frameOf = (e: Element): TextFrame => (label ? labelFrame(e) : textFrame(e));
    const f = frameOf(el);
    const drawn = s.target.kind === "element" ? this.ed.sync.view().elements.get(s.target.id) : undefined;
    const g = drawn?.text ? frameOf(drawn) : f;
    const z = this.ed.camera.zoom;
    const size = el.size ?? DEFAULT_LABEL_SIZE;
    const lineH = size * LINE_HEIGHT;
    const lines = Math.max(1, f.lines.length, g.lines.length);
    // A text without a wrap width grows with its widest line, plus room for the caret.
    const wraps = label || el.w !== undefined;
    const width = wraps ? f.width : Math.max(f.width, g.width) + size;
    const top = label ? Math.min(f.top, g.top, f.top + (f.lines.length - 1) * lineH * 0.5) : f.top;
    const [sx, sy] = this.ed.camera.toScreen(f.left, top);
    const st = this.input.style;
    st.left = `${sx}px`;
    st.top = `${sy}px`;
    st.width = `${Math.max(size * 0.6, width) * z}px`;
    st.height = `${lines * lineH * z}px`;
    st.font = `${size * z}px ${FONT_STACKS[fontOf(el)]}`;
    st.lineHeight = String(LINE_HEIGHT);
    st.textAlign = f.align;
    st.color = el.style.color;
    this.input.wrap = wraps ? "soft" : "off";
    // A rotated element (`rot`, degrees about the centre of its box): the editor turns with it.
    const rot = (el as { rot?: number }).rot ?? 0;
    if (rot) {
      const [bw, bh] = label ? [Math.abs(el.w ?? 0), Math.abs(el.h ?? 0)] : [Math.max(f.width, 1), f.lines.length * lineH];
      const cx = (label ? Math.min(el.x, el.x + (el.w ?? 0)) : el.x) + bw / 2;
      const cy = (label ? Math.min(el.y, el.y + (el.h ?? 0)) : el.y) + bh / 2;
      const [csx, csy] = this.ed.camera.toScreen(cx, cy);
      st.transformOrigin = `${csx - sx}px ${csy - sy}px`;
      st.transform = `rotate(${rot}deg)`;
    } else st.transform = "";
    this.notice.style.left = st.left;
    this.notice.style.top = `${sy - 28}px`;
  }

  /** Someone else's edit (or deletion) of the element being edited: say who, keep the draft. */
  private observe(entry: LogEntry): void {
    const s = this.session;
    if (!s || s.target.kind !== "element" || entry.c === this.ed.sync.clientId) return;
    const id = s.target.id;
    let what: string | null = null;
    if (entry.k === "upd" && entry.id === id && entry.set.text !== undefined) {
      what = s.original?.type === "text" ? "changed this text" : "changed this label";
    } else if ((entry.k === "del" && entry.ids.includes(id)) || entry.k === "clr") {
      what = s.original?.type === "text" ? "deleted this text" : "deleted this shape";
    }
    if (!what) return;
    const who = this.ed.presence.clients.find((c) => c.client_id === entry.c)?.name || "Someone";
    this.notice.textContent = `${who} ${what} · yours replaces it when you finish`;
    this.notice.hidden = false;
  }

  private commit(s: Session, value: string): void {
    if (this.ed.readOnly) return;
    const text = value.slice(0, TEXT_MAX_CHARS);
    const empty = text.trim() === "";
    if (s.target.kind === "new") {
      if (empty) return;
      const el = this.draftElement(s, text);
      el.id = newElementId();
      this.ed.submit([{ k: "add", el }]);
      this.ed.undoStack.push(addedEntry([el.id]));
      return;
    }
    const id = s.target.id;
    const now = this.ed.sync.view().elements.get(id);
    if (!now) {
      // Deleted while we typed: what we wrote comes back (a text, or the shape with its label).
      if (empty || !s.original) return;
      this.ed.submit([{ k: "add", el: { ...s.original, text } }]);
      this.ed.undoStack.push(addedEntry([id]));
      return;
    }
    if (now.type === "text" && empty) {
      this.ed.submit([{ k: "del", ids: [id] }]);
      this.ed.undoStack.push(deletedEntry([now]));
      return;
    }
    if (!isLabelled(now) && now.type !== "text") return;
    const next = empty ? null : text;
    if ((now.text ?? null) === next) return;
    const after: ElementPatch = { text: next };
    const before: ElementPatch = { text: now.text ?? null };
    if (next !== null && now.type !== "text" && now.size === undefined && this.ed.palette.textSize !== DEFAULT_LABEL_SIZE) {
      after.size = this.ed.palette.textSize;
      before.size = null;
    }
    this.ed.submit([{ k: "upd", id, set: after }]);
    this.ed.undoStack.push(updatedEntry(id, before, after));
    if (this.ed.toolName === "select") this.ed.selection.add(id);
  }
}
