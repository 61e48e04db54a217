import { describe, expect, it } from "vitest";
import { popoverPlace } from "./sheets";

describe("popoverPlace", () => {
  const view = { width: 390, height: 844 };
  it("opens above a button in the lower half, centred on it", () => {
    const at = popoverPlace({ left: 150, right: 194, top: 790, bottom: 834 }, { width: 100, height: 60 }, view);
    expect(at).toEqual({ left: 122, top: 722 });
  });
  it("opens below a button in the upper half, kept inside the window", () => {
    const at = popoverPlace({ left: 340, right: 384, top: 4, bottom: 48 }, { width: 200, height: 100 }, view);
    expect(at).toEqual({ left: 182, top: 56 });
  });
});
