/**
 * Image elements on the canvas: pictures by asset, fetched from the board's asset API, decoded
 * once into ImageBitmaps and drawn synchronously by drawElement; a placeholder until then.
 *
 * Two sizes per asset: the preview (at most PREVIEW_SIDE px a side, made by the server on
 * upload) is loaded first and drawn while the image covers no more device pixels than it has;
 * the original is fetched only when the image is shown larger. When a picture arrives the
 * renderer is told (`loaded`), so the tiles under that image are drawn again.
 *
 * An image pasted from another board names an asset this board may not serve yet (404): an
 * editor's client asks the server to copy it here ({"copy_from"}, docs/api.md "Assets") and
 * fetches again. Originals not drawn for a while are dropped beyond ORIGINAL_BUDGET_PX.
 */
import type { Element } from "../protocol";

/** The server's preview bound (board/assets/images.py PREVIEW_SIDE). */
export const PREVIEW_SIDE = 512;
/** Placeholder colours, as the exports draw them (board/export/images.py). */
const PLACEHOLDER_FILL = "#e9ecef";
const PLACEHOLDER_LINE = "#adb5bd";
/** Decoded originals kept, in pixels (4 bytes each): ~256 MB; previews are always kept. */
const ORIGINAL_BUDGET_PX = 64 * 1024 * 1024;
/**
 * An original drawn this recently is kept even past the budget: dropping what is on screen
 * would fetch it again at once, and two such images would take turns for ever.
 */
const IN_USE_MS = 10_000;

type Context2D = CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D;

export interface ImageSource {
  boardId: string;
  shareToken: string | null;
  /** Whether this user may link an asset to the board (an editor): a 404 is then repaired. */
  canEdit(): boolean;
  /** A picture for `asset` arrived: redraw where it is shown. */
  loaded(asset: string): void;
}

interface Entry {
  bitmap: ImageBitmap | null;
  failed: boolean;
  /** When it was last drawn (performance.now()). */
  used: number;
}

let source: ImageSource | null = null;
/** Key: asset, plus "p" for the preview. */
const entries = new Map<string, Entry>();
let originalPixels = 0;

/** Where images come from (the board page calls this once). */
export function configureImages(src: ImageSource): void {
  source = src;
}

/** Where images come from, once configured. */
export function imageSource(): ImageSource | null {
  return source;
}

/** The board's assets collection (POST uploads and copies). */
export function assetsUrl(boardId: string): string {
  return `/api/v1/boards/${encodeURIComponent(boardId)}/assets/`;
}

/** The URL of an asset of this board (`preview`: the small copy). */
export function assetUrl(boardId: string, asset: string, preview: boolean): string {
  return `${assetsUrl(boardId)}${asset}/${preview ? "?preview=1" : ""}`;
}

/** A picture known locally already (the file just uploaded): no fetch for it. */
export function primeImage(asset: string, bitmap: ImageBitmap): void {
  entries.set(asset + "p", { bitmap, failed: false, used: performance.now() });
}

/** The CSRF token Django's session auth wants on unsafe requests. */
export function csrfToken(): string {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]*)/);
  return match ? decodeURIComponent(match[1]) : "";
}

async function fetchAsset(src: ImageSource, asset: string, preview: boolean): Promise<Response> {
  const headers: Record<string, string> = src.shareToken ? { "X-Share-Token": src.shareToken } : {};
  const get = () => fetch(assetUrl(src.boardId, asset, preview), { credentials: "same-origin", headers });
  const res = await get();
  if (res.status !== 404 || !src.canEdit()) return res;
  // Pasted from another board: link it here if this user can read it there, then try again.
  const copy = await fetch(assetsUrl(src.boardId), {
    method: "POST",
    credentials: "same-origin",
    headers: { ...headers, "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify({ copy_from: asset }),
  });
  return copy.ok ? get() : res;
}

function load(asset: string, preview: boolean): void {
  const key = preview ? asset + "p" : asset;
  const src = source;
  if (!src || entries.has(key)) return;
  const entry: Entry = { bitmap: null, failed: false, used: performance.now() };
  entries.set(key, entry);
  fetchAsset(src, asset, preview)
    .then((res) => (res.ok ? res.blob() : Promise.reject(new Error(`HTTP ${res.status}`))))
    .then((blob) => createImageBitmap(blob))
    .then((bitmap) => {
      entry.bitmap = bitmap;
      if (!preview) {
        originalPixels += bitmap.width * bitmap.height;
        evictOriginals(asset);
      }
      src.loaded(asset);
    })
    .catch(() => {
      entry.failed = true;
    });
}

function evictOriginals(keep: string): void {
  const now = performance.now();
  for (const [key, entry] of entries) {
    if (originalPixels <= ORIGINAL_BUDGET_PX) return;
    if (key.endsWith("p") || key === keep || !entry.bitmap || now - entry.used < IN_USE_MS) continue;
    originalPixels -= entry.bitmap.width * entry.bitmap.height;
    entry.bitmap.close();
    entries.delete(key);
  }
}

/** The best picture of `asset` for `devicePx` device pixels on its longest side, loading more. */
function pictureFor(asset: string, devicePx: number): ImageBitmap | null {
  const preview = entries.get(asset + "p");
  if (!preview) load(asset, true);
  const small = preview?.bitmap ?? null;
  // The preview is the whole picture when it is under the bound: nothing larger exists.
  const whole = small !== null && Math.max(small.width, small.height) < PREVIEW_SIDE;
  if (!small || whole || devicePx <= Math.max(small.width, small.height)) return small;
  const original = entries.get(asset);
  if (!original) load(asset, false);
  else if (original.bitmap) {
    original.used = performance.now();
    return original.bitmap;
  }
  return small;
}

/** Draw an image element: its picture stretched to its box, or a placeholder while there is none. */
export function drawImageElement(ctx: Context2D, el: Element, scale: number): void {
  const w = el.w ?? 0;
  const h = el.h ?? 0;
  const x = Math.min(el.x, el.x + w);
  const y = Math.min(el.y, el.y + h);
  const picture = el.asset ? pictureFor(el.asset, Math.max(Math.abs(w), Math.abs(h)) * scale) : null;
  if (picture) {
    ctx.drawImage(picture, x, y, Math.abs(w), Math.abs(h));
    return;
  }
  ctx.fillStyle = PLACEHOLDER_FILL;
  ctx.fillRect(x, y, Math.abs(w), Math.abs(h));
  ctx.strokeStyle = PLACEHOLDER_LINE;
  ctx.lineWidth = 1 / scale;
  ctx.strokeRect(x, y, Math.abs(w), Math.abs(h));
}

/** Whether the picture of `asset` (its preview at least) is decoded: the browser tests wait on it. */
export function imageReady(asset: string): boolean {
  return !!entries.get(asset + "p")?.bitmap || !!entries.get(asset)?.bitmap;
}
