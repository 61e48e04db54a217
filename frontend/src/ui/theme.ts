/**
 * Dark mode: follows the system's `prefers-color-scheme` until the user picks one (the menu's
 * "Dark mode" or Alt+Shift+D), which is remembered in localStorage.
 *
 * The chrome switches through CSS variables (`:root[data-theme="dark"]` in app.css). The canvas is
 * drawn as always and shown through the CSS filter `invert(93%) hue-rotate(180deg)`, Excalidraw's
 * rule: dark ink on white becomes light ink on near-black with its hues kept, and the stored
 * colours never change. Exports are unaffected unless they ask for `dark=1`, which applies the
 * same rule per colour on the server (board/export/dark.py).
 */

export type Theme = "light" | "dark";

/** Where the user's choice is kept (absent: follow the system). */
export const THEME_KEY = "inkroom.theme";

/** The theme to show: the stored choice, else the system's preference. */
export function chooseTheme(stored: string | null, systemDark: boolean): Theme {
  if (stored === "light" || stored === "dark") return stored;
  return systemDark ? "dark" : "light";
}

/** Whether the key event is the dark-mode shortcut, Alt+Shift+D (the layout's letter, or the key). */
export function isThemeShortcut(e: Pick<KeyboardEvent, "altKey" | "shiftKey" | "ctrlKey" | "metaKey" | "code">): boolean {
  return e.altKey && e.shiftKey && !e.ctrlKey && !e.metaKey && e.code === "KeyD";
}

function systemQuery(): MediaQueryList | null {
  return typeof matchMedia === "function" ? matchMedia("(prefers-color-scheme: dark)") : null;
}

function storedChoice(): string | null {
  try {
    return localStorage.getItem(THEME_KEY);
  } catch {
    return null; // storage blocked: follow the system
  }
}

/** The theme shown now. */
export function currentTheme(): Theme {
  return document.documentElement.dataset.theme === "dark" ? "dark" : "light";
}

function show(theme: Theme): void {
  document.documentElement.dataset.theme = theme;
  document.documentElement.style.colorScheme = theme;
  for (const b of document.querySelectorAll<HTMLElement>("[data-theme-toggle]")) b.setAttribute("aria-pressed", String(theme === "dark"));
}

/** Switch to `theme` and remember the choice. */
export function setTheme(theme: Theme): void {
  try {
    localStorage.setItem(THEME_KEY, theme);
  } catch {
    // Not remembered; still shown.
  }
  show(theme);
}

/**
 * Show the theme on this page and keep it current: a system change applies while the user has
 * not chosen; Alt+Shift+D and any `[data-theme-toggle]` button switch it.
 */
export function installTheme(): void {
  const query = systemQuery();
  show(chooseTheme(storedChoice(), query?.matches ?? false));
  query?.addEventListener("change", (e) => {
    if (storedChoice() === null) show(e.matches ? "dark" : "light");
  });
  const toggle = () => setTheme(currentTheme() === "dark" ? "light" : "dark");
  for (const b of document.querySelectorAll<HTMLElement>("[data-theme-toggle]")) b.addEventListener("click", toggle);
  window.addEventListener("keydown", (e) => {
    if (!isThemeShortcut(e) || (e.target as HTMLElement | null)?.closest?.("input, textarea, select")) return;
    e.preventDefault();
    toggle();
  });
}
