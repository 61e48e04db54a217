import { describe, expect, it } from "vitest";
import { overlap } from "./keyboard";

describe("overlap", () => {
  it("is 0 while the field is clear of the keyboard", () => {
    expect(overlap(300, 500)).toBe(0);
    expect(overlap(488, 500)).toBe(0);
  });
  it("is how far the field must rise to sit above it, with a margin", () => {
    expect(overlap(700, 500)).toBe(212);
    expect(overlap(500, 500, 0)).toBe(0);
    expect(overlap(501, 500, 0)).toBe(1);
  });
});
