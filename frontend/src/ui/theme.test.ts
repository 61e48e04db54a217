import { describe, expect, it } from "vitest";
import { chooseTheme, isThemeShortcut } from "./theme";

describe("theme", () => {
  it("follows the system until the user has chosen", () => {
    expect(chooseTheme(null, true)).toBe("dark");
    expect(chooseTheme(null, false)).toBe("light");
    expect(chooseTheme("light", true)).toBe("light");
    expect(chooseTheme("dark", false)).toBe("dark");
    expect(chooseTheme("junk", true)).toBe("dark");
  });

  it("switches on Alt+Shift+D only", () => {
    const key = { altKey: true, shiftKey: true, ctrlKey: false, metaKey: false, code: "KeyD" };
    expect(isThemeShortcut(key)).toBe(true);
    expect(isThemeShortcut({ ...key, shiftKey: false })).toBe(false);
    expect(isThemeShortcut({ ...key, ctrlKey: true })).toBe(false);
    expect(isThemeShortcut({ ...key, code: "KeyF" })).toBe(false);
  });
});
