/**
 * Tiny DOM helpers shared by the pages.
 */
import { ApiError } from "../api";
export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id} in the page template`);
  return el as T;
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string>> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined) continue;
    if (key === "text") el.textContent = value;
    else el.setAttribute(key, value);
  }
  el.append(...children);
  return el;
}

/** Show an error; a 400's field messages ("No user with this username.") over its "Invalid input.". */
export function showError(el: HTMLElement, err: unknown): void {
  const fields = err instanceof ApiError ? Object.values(err.fields).flat() : [];
  el.textContent = fields.length ? fields.join(" ") : err instanceof Error ? err.message : String(err);
  el.hidden = false;
}

/** Save a Blob as a file download. */
export function download(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
