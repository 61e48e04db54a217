import { describe, expect, it } from "vitest";
import { loadPenMode, PEN_MODE_KEY, savePenMode } from "./pen-mode";

function memory(): Storage {
  const m = new Map<string, string>();
  return {
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, v),
    removeItem: (k: string) => void m.delete(k),
    clear: () => m.clear(),
    key: (n: number) => [...m.keys()][n] ?? null,
    get length() {
      return m.size;
    },
  };
}

describe("pen mode setting", () => {
  it("is auto until chosen, then remembered", () => {
    const store = memory();
    expect(loadPenMode(store)).toBe("auto");
    savePenMode(store, "touch");
    expect(loadPenMode(store)).toBe("touch");
    savePenMode(store, "pen");
    expect(loadPenMode(store)).toBe("pen");
  });

  it("reads anything unknown, or blocked storage, as auto", () => {
    const store = memory();
    store.setItem(PEN_MODE_KEY, "always");
    expect(loadPenMode(store)).toBe("auto");
    const blocked = { getItem: () => { throw new Error("SecurityError"); } };
    expect(loadPenMode(blocked)).toBe("auto");
  });
});
