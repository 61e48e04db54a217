/**
 * The export dialog (menu "Export…"): format, padding, background, scale, selection only and
 * dark, with a preview, then a download through the export endpoint's options (docs/api.md).
 *
 * Loaded with a dynamic import() on first use: it is no part of what a board needs to draw.
 * The preview is drawn here with the canvas's own drawElement, not fetched: exports are rate
 * limited, and the canvas and the export draw alike (tests/frontend/test_export_parity.py).
 */
import { api } from "../api";
import { ARROW_HEAD_ANGLE, arrowHeadLength, drawElement } from "../canvas/draw";
import { elementBounds, type Box } from "../ops";
import type { Editor } from "../editor";
import type { Element } from "../protocol";
import { download, h, showError } from "./dom";

export interface ExportChoice {
  format: "png" | "svg";
  padding: number;
  background: boolean;
  scale: number;
  /** Element ids (selection only), or null for the whole board. */
  ids: string[] | null;
  dark: boolean;
}

/** Bounds of the padding input, as the server's (board/export/options.py). */
const PADDING_MAX = 512;
const SCALES = [1, 2, 3, 4];
/** The preview's largest side, CSS px. */
const PREVIEW_PX = 480;
/** The background of an export (render.BACKGROUND); dark applies the CSS filter over it. */
const BACKGROUND = "#ffffff";

/** The export endpoint's query for `c` (defaults left out, so a plain export stays cacheable as before). */
export function exportQuery(c: ExportChoice): string {
  const q = new URLSearchParams();
  if (c.padding !== 16) q.set("padding", String(c.padding));
  if (!c.background) q.set("background", "0");
  if (c.format === "png" && c.scale !== 1) q.set("scale", String(c.scale));
  if (c.ids) q.set("ids", c.ids.join(","));
  if (c.dark) q.set("dark", "1");
  const s = q.toString();
  return s ? `?${s}` : "";
}

/** The widest a pressure stroke gets, in widths (geometry.PRESSURE_WIDTH_MAX). */
const PRESSURE_WIDTH_MAX = 1.75;

/** An element's box as the export measures it (board/document/geometry.py `bbox`). */
export function exportBounds(el: Element): Box {
  const b = elementBounds(el);
  let grow = 0;
  if (el.type === "stroke" && el.pr) grow = (el.style.width / 2) * (PRESSURE_WIDTH_MAX - 1);
  if (el.type === "arrow") grow = arrowHeadLength(el.style.width) * Math.sin(ARROW_HEAD_ANGLE);
  return { minX: b.minX - grow, minY: b.minY - grow, maxX: b.maxX + grow, maxY: b.maxY + grow };
}

/** The world box an export of `elements` shows (the server's options.export_box). */
export function previewBox(elements: readonly Element[], padding: number): { x: number; y: number; w: number; h: number } {
  if (elements.length === 0) return { x: 0, y: 0, w: 64, h: 64 };
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const el of elements) {
    const b = exportBounds(el);
    [x0, y0, x1, y1] = [Math.min(x0, b.minX), Math.min(y0, b.minY), Math.max(x1, b.maxX), Math.max(y1, b.maxY)];
  }
  x0 = Math.floor(x0) - padding;
  y0 = Math.floor(y0) - padding;
  return { x: x0, y: y0, w: Math.ceil(x1) + padding - x0, h: Math.ceil(y1) + padding - y0 };
}

function drawPreview(canvas: HTMLCanvasElement, elements: readonly Element[], c: ExportChoice): void {
  const box = previewBox(elements, c.padding);
  const fit = Math.min(1, PREVIEW_PX / Math.max(box.w, box.h));
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.max(1, Math.round(box.w * fit * dpr));
  canvas.height = Math.max(1, Math.round(box.h * fit * dpr));
  canvas.style.width = `${Math.round(box.w * fit)}px`;
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (c.background) {
    ctx.fillStyle = BACKGROUND;
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  }
  const s = fit * dpr;
  ctx.setTransform(s, 0, 0, s, -box.x * s, -box.y * s);
  for (const el of elements) drawElement(ctx, el, s);
  ctx.setTransform(1, 0, 0, 1, 0, 0);
}

function field(label: string, input: HTMLElement): [HTMLElement, HTMLElement] {
  const id = input.id;
  return [h("label", { for: id, text: label }), input];
}

/** Open the dialog for `ed`'s board (the selection, if any, offered as "selection only"). */
export function openExportDialog(ed: Editor, boardId: string): void {
  const view = ed.sync.view();
  const selected = [...ed.selection].filter((id) => view.elements.has(id));
  const format = h("select", { id: "export-format" }, h("option", { value: "png", text: "PNG" }), h("option", { value: "svg", text: "SVG" }));
  const padding = h("input", { id: "export-padding", type: "number", min: "0", max: String(PADDING_MAX), step: "1", value: "16" });
  const background = h("input", { id: "export-background", type: "checkbox" });
  background.checked = true;
  const scale = h("select", { id: "export-scale" }, ...SCALES.map((k) => h("option", { value: String(k), text: `${k}×` })));
  const selection = h("input", { id: "export-selection", type: "checkbox" });
  selection.checked = selected.length > 0;
  selection.disabled = selected.length === 0;
  const dark = h("input", { id: "export-dark", type: "checkbox" });
  const canvas = h("canvas", { id: "export-canvas", "aria-label": "Export preview" });
  const preview = h("div", { class: "export-preview" }, canvas);
  const error = h("p", { class: "error", role: "alert", hidden: "" });
  const save = h("button", { type: "button", class: "primary", id: "export-download", text: "Download" });
  const close = h("button", { type: "button", text: "Cancel" });
  const dlg = h(
    "dialog",
    { id: "dlg-export", "aria-labelledby": "export-h" },
    h("h2", { id: "export-h", text: "Export" }),
    preview,
    h(
      "div",
      { class: "export-form" },
      ...field("Format", format),
      ...field("Padding", padding),
      ...field("Background", background),
      ...field("Scale (PNG)", scale),
      ...field(`Selection only${selected.length ? ` (${selected.length})` : ""}`, selection),
      ...field("Dark", dark),
    ),
    error,
    h("div", { class: "row" }, save, close),
  );
  const choice = (): ExportChoice => ({
    format: format.value === "svg" ? "svg" : "png",
    padding: Math.max(0, Math.min(PADDING_MAX, Math.round(Number(padding.value) || 0))),
    background: background.checked,
    scale: Number(scale.value),
    ids: selection.checked && selected.length > 0 ? selected : null,
    dark: dark.checked,
  });
  const refresh = () => {
    const c = choice();
    const els = [...view.elements.values()].filter((el) => !c.ids || c.ids.includes(el.id));
    preview.classList.toggle("dark", c.dark);
    scale.disabled = c.format !== "png";
    drawPreview(canvas, els, c);
  };
  for (const input of [format, padding, background, scale, selection, dark]) input.addEventListener("input", refresh);
  close.addEventListener("click", () => dlg.close());
  dlg.addEventListener("close", () => dlg.remove());
  save.addEventListener("click", async () => {
    const c = choice();
    save.disabled = true;
    try {
      const blob = await api.exportFile(boardId, c.format, exportQuery(c));
      const title = (ed.sync.hello?.board.title ?? "board").replace(/[^\w.-]+/g, "_");
      download(blob, `${title}.${c.format}`);
      dlg.close();
    } catch (err) {
      showError(error, err);
    } finally {
      save.disabled = false;
    }
  });
  document.body.append(dlg);
  refresh();
  dlg.showModal();
}
