import { describe, expect, it } from "vitest";
import { exportQuery } from "./export-dialog";

describe("export query", () => {
  const plain = { format: "png" as const, padding: 16, background: true, scale: 1, ids: null, dark: false };

  it("leaves the defaults out", () => {
    expect(exportQuery(plain)).toBe("");
  });

  it("spells every option the endpoint reads", () => {
    expect(exportQuery({ ...plain, padding: 0, background: false, scale: 2, ids: ["a", "b"], dark: true })).toBe(
      "?padding=0&background=0&scale=2&ids=a%2Cb&dark=1",
    );
    expect(exportQuery({ ...plain, format: "svg", scale: 3 })).toBe("");
  });
});
