/**
 * The style panel (loaded on first use, ui/shapes-ui.ts): any stroke colour (the palette, a
 * native colour picker and the colours recently picked), the fill (none, palette, picker), the
 * fill pattern, the stroke dash, the opacity and the font. A choice becomes the pen's style for
 * new elements and, with a selection, restyles it as one undo step (Editor.restyleSelection).
 */
import type { Palette } from "../canvas/palette";
import type { Editor } from "../editor";
import type { StylePatch } from "../protocol";
import { h } from "./dom";

/** Colours picked with the picker that the panel offers again, newest first. */
export const RECENT_KEY = "inkroom.recent-colors";
export const RECENT_MAX = 8;
/** Light fills, as in Excalidraw and tldraw (a dark fill hides the outline and any label). */
const FILLS: [string, string][] = [
  ["#ffc9c9", "light red"],
  ["#b2f2bb", "light green"],
  ["#a5d8ff", "light blue"],
  ["#ffec99", "yellow"],
  ["#e9ecef", "light grey"],
];
const CHOICES = {
  fs: [["solid", "Solid"], ["hatch", "Hatch"], ["cross", "Cross-hatch"]],
  dash: [["solid", "Solid"], ["dash", "Dashed"], ["dot", "Dotted"]],
  font: [["hand", "Hand"], ["sans", "Sans"], ["serif", "Serif"], ["mono", "Mono"]],
} as const;
type ChoiceKey = keyof typeof CHOICES;

/** The recent colours list with `color` put first (no duplicates, at most RECENT_MAX). */
export function withRecent(recent: readonly string[], color: string): string[] {
  return [color, ...recent.filter((c) => c !== color)].slice(0, RECENT_MAX);
}

function loadRecent(): string[] {
  try {
    const value: unknown = JSON.parse(localStorage.getItem(RECENT_KEY) ?? "[]");
    return Array.isArray(value) ? value.filter((c): c is string => typeof c === "string" && /^#[0-9a-f]{6}$/.test(c)) : [];
  } catch {
    return [];
  }
}

function swatch(color: string, label: string, attr: string): HTMLButtonElement {
  const b = h("button", { type: "button", class: "swatch", [attr]: color, "aria-label": label, title: label });
  b.style.setProperty("--swatch", color);
  return b;
}

export class StylePanel {
  readonly root: HTMLElement;
  private recent: string[] = loadRecent();
  private readonly recentRow: HTMLElement;

  constructor(
    private readonly ed: Editor,
    private readonly button: HTMLElement,
  ) {
    const strokes = [...document.querySelectorAll<HTMLButtonElement>("#style-pop [data-color]")].map(
      (b) => [b.dataset.color ?? "", b.title] as [string, string],
    );
    const picker = (id: string, label: string) => h("input", { type: "color", id, "aria-label": label, title: label });
    const color = picker("sp-color", "Any colour");
    const fill = picker("sp-fill", "Any fill colour");
    const opacity = h("input", { type: "range", id: "sp-opacity", min: "5", max: "100", step: "5", "aria-label": "Opacity" });
    this.recentRow = h("div", { class: "row", role: "group", "aria-label": "Recent colours" });
    this.root = h(
      "section",
      { id: "style-panel", class: "style-panel", "aria-label": "Style", hidden: "" },
      h("h3", { text: "Stroke" }),
      h("div", { class: "row", role: "group", "aria-label": "Stroke colour" }, ...strokes.map(([c, t]) => swatch(c, `Colour ${t}`, "data-sp-color")), color),
      this.recentRow,
      h("h3", { text: "Fill" }),
      h(
        "div",
        { class: "row", role: "group", "aria-label": "Fill colour" },
        h("button", { type: "button", "data-sp-fill": "none", text: "None", "aria-label": "No fill" }),
        ...FILLS.map(([c, t]) => swatch(c, `Fill ${t}`, "data-sp-fill")),
        fill,
      ),
      ...this.choiceRow("fs", "Fill pattern"),
      ...this.choiceRow("dash", "Stroke"),
      h("h3", { text: "Opacity" }),
      opacity,
      ...this.choiceRow("font", "Font"),
    );
    document.body.append(this.root);
    this.root.addEventListener("click", (e) => this.click(e.target as HTMLElement));
    // `change`, not `input`: one restyle (one undo step) when the picker closes or the slider is let go.
    color.addEventListener("change", () => this.pickColor(color.value));
    fill.addEventListener("change", () => this.set({ fill: fill.value }, { fill: fill.value }));
    opacity.addEventListener("change", () => {
      const value = Number(opacity.value) / 100;
      this.set({ opacity: value }, { opacity: value });
    });
    // Done with a control, the keys are the board's again (Ctrl+Z undoes the restyle).
    for (const input of [color, fill, opacity]) input.addEventListener("change", () => input.blur());
    this.root.addEventListener("keydown", (e) => {
      if (e.key === "Escape") this.toggle(false);
    });
    this.render();
  }

  private choiceRow(key: ChoiceKey, title: string): HTMLElement[] {
    const buttons = CHOICES[key].map(([value, text]) =>
      h("button", { type: "button", [`data-sp-${key}`]: value, text, "aria-label": `${title}: ${text}` }),
    );
    return [h("h3", { text: key === "dash" ? "Stroke style" : title }), h("div", { class: "row", role: "group", "aria-label": title }, ...buttons)];
  }

  toggle(open = this.root.hidden): void {
    this.root.hidden = !open;
    this.button.setAttribute("aria-expanded", String(open));
    if (open) this.render();
  }

  private click(target: HTMLElement): void {
    const b = target.closest<HTMLButtonElement>("button");
    if (!b) return;
    const d = b.dataset;
    if (d.spColor) this.setColor(d.spColor);
    else if (d.spFill) {
      const fill = d.spFill === "none" ? null : d.spFill;
      this.set({ fill }, { fill });
    } else if (d.spFs) this.set({ fs: d.spFs as Palette["fs"] }, { fs: d.spFs as Palette["fs"] });
    else if (d.spDash) this.set({ dash: d.spDash as Palette["dash"] }, { dash: d.spDash as Palette["dash"] });
    else if (d.spFont) this.set({ font: d.spFont as Palette["font"] }, { font: d.spFont as Palette["font"] });
  }

  private pickColor(color: string): void {
    this.recent = withRecent(this.recent, color);
    try {
      localStorage.setItem(RECENT_KEY, JSON.stringify(this.recent));
    } catch {
      // Storage full or off: the list lasts this page only.
    }
    this.setColor(color);
  }

  private setColor(color: string): void {
    this.set({ color }, { color });
    // The toolbar's swatches (and the style button wearing the colour) follow.
    for (const b of document.querySelectorAll<HTMLButtonElement>("[data-color]")) {
      b.classList.toggle("active", b.dataset.color === color);
      b.setAttribute("aria-pressed", String(b.dataset.color === color));
    }
  }

  /** The pen takes `palette`; a selection is restyled with `patch` (one undo step). */
  private set(palette: Partial<Palette>, patch: StylePatch): void {
    Object.assign(this.ed.palette, palette);
    if (this.ed.selection.size > 0) this.ed.restyleSelection(patch);
    this.ed.invalidate();
    this.render();
  }

  /** Mark the current choices and refill the recent colours. */
  private render(): void {
    const p = this.ed.palette;
    const mark = (attr: string, value: string) => {
      for (const b of this.root.querySelectorAll<HTMLButtonElement>(`[${attr}]`)) {
        b.setAttribute("aria-pressed", String(b.getAttribute(attr) === value));
      }
    };
    mark("data-sp-color", p.color);
    mark("data-sp-fill", p.fill ?? "none");
    mark("data-sp-fs", p.fs);
    mark("data-sp-dash", p.dash);
    mark("data-sp-font", p.font);
    (this.root.querySelector("#sp-opacity") as HTMLInputElement).value = String(Math.round(p.opacity * 100));
    (this.root.querySelector("#sp-color") as HTMLInputElement).value = p.color;
    this.recentRow.replaceChildren(...this.recent.map((c) => swatch(c, `Recent colour ${c}`, "data-sp-color")));
    this.recentRow.hidden = this.recent.length === 0;
  }
}
