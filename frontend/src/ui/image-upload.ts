/**
 * Uploading images and placing them (loaded on the first image: ui/image-input.ts wires the
 * ways in). Each file is sent as the request body with its progress on screen ("Uploading…"),
 * then added as an `image` element centred where it was dropped or pasted, at its natural size
 * in world units, at most MAX_SIDE on its longest side. All the images of one insert are one
 * undo step and end up selected. The local file is decoded for the canvas straight away, so
 * the picture shows without downloading it again.
 */
import { assetsUrl, csrfToken, imageSource, primeImage, type ImageSource } from "../canvas/images";
import { newElementId } from "../canvas/tool";
import type { Editor } from "../editor";
import type { Element } from "../protocol";
import { addedEntry } from "../undo";
import { $ } from "./dom";

/** Longest side of a placed image, world units: a phone photo would otherwise cover a wall. */
export const MAX_SIDE = 1024;
/** Each further image of one insert is placed this far right and down of the previous one. */
const CASCADE = 24;
/** How long an error stays on screen (ms). */
const ERROR_MS = 6000;

export interface AssetInfo {
  id: string;
  mime: string;
  width: number;
  height: number;
  bytes: number;
}

/** An image element for `asset` centred on world point `at`. */
export function imageElement(info: AssetInfo, at: [number, number]): Element {
  const k = Math.min(1, MAX_SIDE / Math.max(info.width, info.height, 1));
  const w = Math.max(1, Math.round(info.width * k));
  const h = Math.max(1, Math.round(info.height * k));
  return {
    id: newElementId(),
    type: "image",
    x: Math.round(at[0] - w / 2),
    y: Math.round(at[1] - h / 2),
    w,
    h,
    asset: info.id,
    style: { color: "#1e1e1e", width: 1, opacity: 1, fill: null },
  };
}

/** POST the file as the body; `progress` gets whole percents of it sent. */
export function upload(src: ImageSource, file: Blob, progress: (percent: number) => void): Promise<AssetInfo> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", assetsUrl(src.boardId));
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    if (src.shareToken) xhr.setRequestHeader("X-Share-Token", src.shareToken);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) progress(Math.round((100 * e.loaded) / e.total));
    };
    xhr.onload = () => {
      let body: { message?: unknown } | null = null;
      try {
        body = JSON.parse(xhr.responseText) as { message?: unknown };
      } catch {
        body = null;
      }
      if (xhr.status === 200 || xhr.status === 201) resolve(body as unknown as AssetInfo);
      else reject(new Error(typeof body?.message === "string" ? body.message : `Upload failed (HTTP ${xhr.status})`));
    };
    xhr.onerror = () => reject(new Error("Upload failed: no connection to the server"));
    xhr.send(file);
  });
}

/** The status line over the canvas: progress, then an error for a while, else hidden. */
class UploadStatus {
  private readonly el = $("image-status");
  private hideAt = 0;

  show(text: string, kind: "progress" | "error" = "progress"): void {
    this.el.textContent = text;
    this.el.dataset.kind = kind;
    this.el.hidden = false;
    if (kind === "error") {
      const at = (this.hideAt = Date.now() + ERROR_MS);
      setTimeout(() => {
        if (this.hideAt === at) this.el.hidden = true;
      }, ERROR_MS);
    }
  }

  done(): void {
    if (this.el.dataset.kind !== "error") this.el.hidden = true;
  }
}

/** Upload `files` and add each as an image centred on world point `at` (one undo step). */
export async function insertImages(ed: Editor, files: readonly File[], at: [number, number]): Promise<void> {
  const src = imageSource();
  if (!src) return;
  const status = new UploadStatus();
  const added: string[] = [];
  for (const [n, file] of files.entries()) {
    const label = files.length > 1 ? `image ${n + 1} of ${files.length}` : "image";
    status.show(`Uploading ${label}…`);
    try {
      const info = await upload(src, file, (p) => status.show(`Uploading ${label}… ${p} %`));
      const bitmap = await createImageBitmap(file).catch(() => null);
      if (bitmap) primeImage(info.id, bitmap);
      if (ed.readOnly) break; // the role changed while uploading
      const el = imageElement(info, [at[0] + n * CASCADE, at[1] + n * CASCADE]);
      ed.submit([{ k: "add", el }]);
      added.push(el.id);
    } catch (err) {
      status.show(`Could not add the ${label}: ${(err as Error).message}`, "error");
    }
  }
  status.done();
  if (added.length === 0) return;
  ed.undoStack.push(addedEntry(added));
  // Selected, like any freshly placed shape, ready to be moved or resized.
  document.querySelector<HTMLButtonElement>("[data-tool=select]")?.click();
  ed.selection.clear();
  for (const id of added) ed.selection.add(id);
  ed.invalidate();
}
