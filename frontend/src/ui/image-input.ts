/**
 * The ways an image gets onto a board: the toolbar button or `I` (a file picker), files dropped
 * on the canvas, and a pasted image file or screenshot. Only the wiring is loaded with the page;
 * uploading and placing (image-upload.ts) is a chunk loaded with the first image.
 *
 * The paste listener takes only clipboard data that carries image files and no Inkroom payload:
 * elements copied on a board (which may come with a PNG of them for other apps) are the
 * clipboard feature's, whose capture-phase listener claims them first (clipboard.ts).
 */
import { inkBounds } from "../canvas/draw";
import { configureImages } from "../canvas/images";
import type { Editor } from "../editor";
import { $ } from "./dom";

/** The clipboard feature's payload (clipboard.ts PAYLOAD_MIME, PAYLOAD_TYPE). */
const INKROOM_PAYLOAD_MIME = "application/x-inkroom+json";
const INKROOM_PAYLOAD_TYPE = "inkroom/elements";
/** What the server stores (judged there by the bytes; this only filters what to send). */
export const IMAGE_TYPES: ReadonlySet<string> = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

type UploadModule = typeof import("./image-upload");

/** The image files among `files`, in order. */
export function imageFiles(files: Iterable<File>): File[] {
  return [...files].filter((f) => IMAGE_TYPES.has(f.type));
}

/** Whether a paste's data is an image for this feature: files, and no Inkroom payload beside them. */
export function pastedImages(data: DataTransfer): File[] {
  if (data.types.includes(INKROOM_PAYLOAD_MIME)) return [];
  if (data.getData("text/plain").includes(`"${INKROOM_PAYLOAD_TYPE}"`)) return [];
  return imageFiles(data.files);
}

export class ImageInput {
  /** The pointer over the canvas (canvas px), or null while it is elsewhere. */
  private pointer: [number, number] | null = null;
  private uploader: Promise<UploadModule> | null = null;

  constructor(
    private readonly ed: Editor,
    private readonly canvas: HTMLCanvasElement,
  ) {
    const button = $<HTMLButtonElement>("btn-image");
    const picker = $<HTMLInputElement>("image-file");
    button.addEventListener("click", () => {
      if (!this.ed.readOnly) picker.click();
    });
    picker.addEventListener("change", () => {
      this.insert(imageFiles(picker.files ?? []), null);
      picker.value = "";
    });
    window.addEventListener("keydown", (e) => {
      const typing = (e.target as HTMLElement).closest?.("input, textarea, select, dialog, [contenteditable]");
      if (e.key.toLowerCase() !== "i" || e.ctrlKey || e.metaKey || e.altKey || typing || button.disabled) return;
      e.preventDefault();
      button.click();
    });
    canvas.addEventListener("pointermove", (e) => (this.pointer = this.local(e)));
    canvas.addEventListener("pointerleave", () => (this.pointer = null));
    this.wireDrop();
    window.addEventListener("paste", (e) => {
      const target = e.target as HTMLElement;
      if (!e.clipboardData || this.ed.readOnly || target.closest?.("input, textarea, select, [contenteditable]")) return;
      const files = pastedImages(e.clipboardData);
      if (files.length === 0) return;
      e.preventDefault();
      this.insert(files, this.pointer);
    });
  }

  private local(e: { clientX: number; clientY: number }): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }

  private wireDrop(): void {
    const stage = this.canvas.parentElement ?? this.canvas;
    const carriesFiles = (e: DragEvent) => !this.ed.readOnly && (e.dataTransfer?.types.includes("Files") ?? false);
    stage.addEventListener("dragover", (e) => {
      if (!carriesFiles(e)) return;
      e.preventDefault(); // allows the drop
      e.dataTransfer!.dropEffect = "copy";
      stage.classList.add("image-drop");
    });
    stage.addEventListener("dragleave", () => stage.classList.remove("image-drop"));
    stage.addEventListener("drop", (e) => {
      stage.classList.remove("image-drop");
      if (!carriesFiles(e)) return;
      e.preventDefault(); // the browser would open the file instead
      this.insert(imageFiles(e.dataTransfer!.files), this.local(e));
    });
  }

  /** Upload `files` and place them centred on canvas point `at` (default: the view's centre). */
  insert(files: File[], at: [number, number] | null): void {
    if (files.length === 0 || this.ed.readOnly) return;
    const screen = at ?? [this.ed.renderer.width / 2, this.ed.renderer.height / 2];
    const world = this.ed.camera.toWorld(screen[0], screen[1]);
    this.uploader ??= import("./image-upload");
    void this.uploader.then((m) => m.insertImages(this.ed, files, world));
  }
}

/**
 * Images on this board page: where the canvas fetches pictures from (redrawing where one shows
 * when it arrives), and the ways to insert them.
 */
export function wireImages(ed: Editor, canvas: HTMLCanvasElement, boardId: string, shareToken: string | null): ImageInput {
  configureImages({
    boardId,
    shareToken,
    canEdit: () => !ed.sync.readOnly,
    loaded: (asset) => {
      for (const el of (ed.preview ?? ed.sync.view()).elements.values()) {
        if (el.asset === asset) ed.renderer.invalidateArea(inkBounds(el));
      }
      ed.invalidate();
    },
  });
  return new ImageInput(ed, canvas);
}
