/**
 * The palm-rejection setting in the board menu: what fingers do on the board (Gestures.mode),
 * remembered in localStorage for every board, as a pen user sets it once for their tablet.
 */
import type { Gestures, PenMode } from "../canvas/gestures";
import { $ } from "./dom";

/** Where the choice is kept (absent: "auto"). */
export const PEN_MODE_KEY = "inkroom.penMode";
const MODES: readonly PenMode[] = ["auto", "pen", "touch"];

/** The stored setting, "auto" when there is none or it is not one we know. */
export function loadPenMode(store: Pick<Storage, "getItem">): PenMode {
  let value: string | null = null;
  try {
    value = store.getItem(PEN_MODE_KEY);
  } catch {
    // Storage blocked: the default.
  }
  return MODES.find((m) => m === value) ?? "auto";
}

export function savePenMode(store: Pick<Storage, "setItem">, mode: PenMode): void {
  try {
    store.setItem(PEN_MODE_KEY, mode);
  } catch {
    // Not remembered; still in effect on this page.
  }
}

/** Show the stored setting in the menu's select and apply each choice to `gestures`. */
export function wirePenMode(gestures: Gestures, store: Storage): void {
  const select = $<HTMLSelectElement>("pen-mode");
  gestures.mode = loadPenMode(store);
  select.value = gestures.mode;
  select.addEventListener("change", () => {
    gestures.mode = MODES.find((m) => m === select.value) ?? "auto";
    savePenMode(store, gestures.mode);
  });
}
