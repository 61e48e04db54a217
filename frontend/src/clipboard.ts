/**
 * Copy, cut, paste, duplicate and select all on the board (Ctrl/Cmd+C, X, V, D, A and the
 * selection sheet's buttons).
 *
 * The keyboard path goes through the DOM's synchronous `copy`/`cut`/`paste` events: their
 * clipboardData needs no permission prompt. A copy puts the payload there under its own MIME
 * type and as text/plain JSON (marked by its `type` key), then asks the asynchronous clipboard
 * for the richer set other apps read (a Chromium web custom format, SVG and PNG); when that is
 * refused the synchronous data stays. A paste that carries files but no Inkroom payload is left
 * alone: pasted images are the images feature's.
 *
 * Turning a paste into ops (clipboard-paste.ts) and rendering SVG/PNG (clipboard-svg.ts) are
 * loaded on first use, to keep the board page's bundle small.
 */
import { inkBounds, strokeOutlinePoints } from "./canvas/draw";
import { assetUrl, imageSource } from "./canvas/images";
import { toolStyle } from "./canvas/palette";
import { FONT_STACKS, labelFrame, textFrame } from "./canvas/text-draw";
import { fontOf, isLabelled } from "./canvas/text-layout";
import type { Editor } from "./editor";
import { boundsOf } from "./ops";
import type { Element } from "./protocol";
import { addedEntry, addOps } from "./undo";

type PasteModule = typeof import("./clipboard-paste");
type SvgModule = typeof import("./clipboard-svg");

/** clipboard-paste.ts PAYLOAD_TYPE (not imported: that would load the module eagerly). */
const PAYLOAD_TYPE = "inkroom/elements";
/** The payload's MIME type in a copy event's DataTransfer (same-browser pastes). */
const PAYLOAD_MIME = "application/x-inkroom+json";
/** The same as a Chromium web custom format of the asynchronous clipboard. */
const WEB_MIME = `web ${PAYLOAD_MIME}`;
/** What the SVG shares with the canvas (clipboard-svg.ts Geometry). */
const GEOMETRY = {
  outline: (el: Element) => strokeOutlinePoints(el),
  ink: inkBounds,
  bounds: boundsOf,
  text: (el: Element) => (el.type === "text" ? textFrame(el) : isLabelled(el) && el.text ? labelFrame(el) : null),
  family: (el: Element) => FONT_STACKS[fontOf(el)],
  asset: (asset: string, preview: boolean) => {
    const src = imageSource();
    const headers: Record<string, string> = src?.shareToken ? { "X-Share-Token": src.shareToken } : {};
    return src ? fetch(assetUrl(src.boardId, asset, preview), { credentials: "same-origin", headers }) : null;
  },
};

/** The rendering module once loaded, so later copies put SVG in the synchronous data too. */
let svgModule: SvgModule | null = null;
const loadSvg = () => import("./clipboard-svg").then((m) => (svgModule = m));

/** Where typing and the browser's own copy and paste belong: fields and selected page text. */
function browserOwns(target: EventTarget | null): boolean {
  if (target instanceof HTMLElement && target.closest("input, textarea, select, [contenteditable]")) return true;
  const sel = document.getSelection();
  return sel !== null && !sel.isCollapsed && sel.toString() !== "";
}

function claim(e: Event): void {
  e.preventDefault();
  // Registered on window in the capture phase, so first: a paste handled here must not also
  // reach the images feature's handler, which would see the PNG a rich copy put beside it.
  e.stopImmediatePropagation();
}

export class BoardClipboard {
  /** The pointer over the canvas (canvas px), or null while it is elsewhere. */
  private pointer: [number, number] | null = null;
  private pointerMoved = true;
  /** Where the last press on the canvas was: the sheet's Paste puts things there. */
  private pressed: [number, number] | null = null;
  private paster: Promise<InstanceType<PasteModule["Paster"]>> | null = null;
  private paste: PasteModule | null = null;

  constructor(
    private readonly ed: Editor,
    canvas: HTMLCanvasElement,
  ) {
    const local = (e: PointerEvent): [number, number] => {
      const r = canvas.getBoundingClientRect();
      return [e.clientX - r.left, e.clientY - r.top];
    };
    canvas.addEventListener("pointermove", (e) => {
      this.pointer = local(e);
      this.pointerMoved = true;
    });
    canvas.addEventListener("pointerdown", (e) => (this.pressed = local(e)));
    canvas.addEventListener("pointerleave", () => (this.pointer = null));
    window.addEventListener("copy", (e) => this.onCopy(e, false), { capture: true });
    window.addEventListener("cut", (e) => this.onCopy(e, true), { capture: true });
    window.addEventListener("paste", (e) => this.onPaste(e), { capture: true });
    window.addEventListener("keydown", (e) => this.onKey(e));
    this.wireSheet();
  }

  /** The paste machinery, loaded once; calls made while it loads run in order after. */
  private withPaster(run: (p: InstanceType<PasteModule["Paster"]>, m: PasteModule) => void): void {
    this.paster ??= import("./clipboard-paste").then((m) => {
      this.paste = m;
      return new m.Paster({
        view: () => this.ed.sync.view(),
        limits: () => this.ed.sync.limits,
        add: (els) => {
          this.ed.submit(addOps(els));
          this.ed.undoStack.push(addedEntry(els.map((el) => el.id)));
        },
        select: (ids) => {
          this.useSelectTool();
          this.ed.selection.clear();
          for (const id of ids) this.ed.selection.add(id);
          this.ed.invalidate();
        },
        // The status line tells of it as it does of the server's `board_full` (board-ui.ts).
        refuse: (reason) => (this.ed.sync.boardFull = { reason, at: Date.now() }),
        viewport: () => this.ed.viewport(),
        toWorld: (sx, sy) => this.ed.camera.toWorld(sx, sy),
        textStyle: () => toolStyle("text", this.ed.palette),
        textSize: () => this.ed.palette.textSize,
        bounds: boundsOf,
      });
    });
    void this.paster.then((p) => {
      if (!this.ed.readOnly) run(p, this.paste!);
    });
  }

  private onKey(e: KeyboardEvent): void {
    if (!(e.ctrlKey || e.metaKey) || e.altKey || e.shiftKey) return;
    if ((e.target as HTMLElement).closest?.("input, textarea, select, dialog, [contenteditable]")) return;
    const key = e.key.toLowerCase();
    if (key === "d") {
      e.preventDefault();
      this.duplicate();
    } else if (key === "a") {
      e.preventDefault();
      this.selectAll();
    }
  }

  /** The selection in z-order (bottom first), as the JSON of a payload, or null if empty. */
  private payloadJson(): [string, Element[]] | null {
    const view = this.ed.sync.view();
    const elements = [...view.elements.values()].filter((el) => this.ed.selection.has(el.id));
    if (elements.length === 0) return null;
    const nonce = crypto.getRandomValues(new Uint32Array(2)).join("-");
    return [JSON.stringify({ type: PAYLOAD_TYPE, v: 1, nonce, elements }), elements];
  }

  private onCopy(e: ClipboardEvent, cut: boolean): void {
    if (browserOwns(e.target) || !e.clipboardData) return;
    const copy = this.payloadJson();
    if (!copy) return;
    claim(e);
    const [json, els] = copy;
    e.clipboardData.setData(PAYLOAD_MIME, json);
    e.clipboardData.setData("text/plain", json);
    if (svgModule) e.clipboardData.setData("image/svg+xml", svgModule.selectionSvg(els, GEOMETRY));
    this.writeRich(json, els);
    if (cut && !this.ed.readOnly) this.ed.deleteSelection();
  }

  /**
   * The payload plus SVG and PNG through the asynchronous clipboard. It replaces what the copy
   * event put there, text/plain included, so a paste reads the same payload either way.
   */
  private writeRich(json: string, els: Element[]): void {
    if (typeof ClipboardItem === "undefined" || !navigator.clipboard?.write) return;
    const svg = loadSvg().then(async (m) => [m, m.selectionSvg(els, GEOMETRY, await m.fetchPictures(els, GEOMETRY))] as const);
    const blob = (text: string, type: string) => new Blob([text], { type });
    const parts: Record<string, Blob | Promise<Blob>> = {
      [WEB_MIME]: blob(json, WEB_MIME),
      "text/plain": blob(json, "text/plain"),
      "image/svg+xml": svg.then(([, text]) => blob(text, "image/svg+xml")),
      "image/png": svg.then(([m, text]) => m.svgToPng(text)),
    };
    const supports = (ClipboardItem as unknown as { supports?: (type: string) => boolean }).supports;
    for (const type of Object.keys(parts)) if (supports && !supports(type)) delete parts[type];
    navigator.clipboard.write([new ClipboardItem(parts)]).catch(() => {
      // Refused (no permission, the page not focused, a type unsupported): the copy event's data stays.
    });
  }

  private onPaste(e: ClipboardEvent): void {
    const data = e.clipboardData;
    if (browserOwns(e.target) || !data || this.ed.readOnly) return;
    // Read now: the DataTransfer is emptied when the event is over.
    const custom = data.getData(PAYLOAD_MIME);
    const text = data.getData("text/plain");
    const files = data.files.length > 0 || [...data.items].some((item) => item.kind === "file");
    const payload = custom || (text.includes(`"${PAYLOAD_TYPE}"`) ? text : "");
    if (!payload && (files || !text.trim())) return;
    claim(e);
    this.pasteText(payload || text, this.pointer);
  }

  /** Clipboard text: an Inkroom payload, or else plain text to become a text element. */
  private pasteText(text: string, at: [number, number] | null): void {
    const moved = this.pointerMoved;
    this.pointerMoved = false;
    this.withPaster((p, m) => {
      const payload = m.parsePayload(text);
      if (payload) p.payload(payload, at, moved);
      else p.text(text, at);
    });
  }

  /** Paste what the asynchronous clipboard holds (the sheet's button: there is no paste event). */
  async pasteFromClipboard(at: [number, number] | null): Promise<void> {
    if (this.ed.readOnly || !navigator.clipboard) return;
    let text = "";
    try {
      for (const item of await navigator.clipboard.read()) {
        const type = [WEB_MIME, "text/plain"].find((t) => item.types.includes(t));
        if (type) {
          text = await (await item.getType(type)).text();
          break;
        }
      }
    } catch {
      text = await navigator.clipboard.readText().catch(() => "");
    }
    if (text.trim()) this.pasteText(text, at);
  }

  duplicate(): void {
    const view = this.ed.sync.view();
    const els = [...view.elements.values()].filter((el) => this.ed.selection.has(el.id));
    if (els.length > 0) this.withPaster((p) => p.duplicate(els));
  }

  /** Every element not locked (locked ones are not selectable, SPEC16 `lock`). */
  selectAll(): void {
    this.useSelectTool();
    for (const el of this.ed.sync.view().elements.values()) {
      if (el.lock !== true) this.ed.selection.add(el.id);
    }
    this.ed.invalidate();
  }

  /** Through the toolbar's button, so the toolbar shows the tool (board-ui.ts selectTool). */
  private useSelectTool(): void {
    if (this.ed.toolName === "select") return;
    const button = document.querySelector<HTMLButtonElement>("[data-tool=select]");
    if (button && !button.disabled) button.click();
  }

  /** Copy from a button: through execCommand's copy event, else the asynchronous clipboard. */
  copySelection(): void {
    const copy = this.payloadJson();
    if (copy && !document.execCommand("copy")) this.writeRich(...copy);
  }

  private wireSheet(): void {
    const dlg = document.getElementById("dlg-selection") as HTMLDialogElement | null;
    const on = (id: string, action: () => void) =>
      document.getElementById(id)?.addEventListener("click", () => {
        action();
        dlg?.close();
      });
    on("sel-copy", () => this.copySelection());
    on("sel-cut", () => {
      this.copySelection();
      this.ed.deleteSelection();
    });
    on("sel-duplicate", () => this.duplicate());
    on("sel-paste", () => void this.pasteFromClipboard(this.pressed));
  }
}
