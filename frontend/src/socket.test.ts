import { describe, expect, it } from "vitest";
import { BACKOFF_BASE_MS, BACKOFF_MAX_MS, backoffDelay } from "./socket";

describe("backoffDelay", () => {
  it("grows exponentially with full jitter and is capped", () => {
    expect(backoffDelay(0, () => 0.999)).toBe(Math.floor(0.999 * BACKOFF_BASE_MS));
    expect(backoffDelay(3, () => 0.5)).toBe(Math.floor(0.5 * BACKOFF_BASE_MS * 8));
    expect(backoffDelay(30, () => 0.999)).toBeLessThanOrEqual(BACKOFF_MAX_MS);
    expect(backoffDelay(5, () => 0)).toBe(100);
  });

  it("spreads clients out (jitter)", () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(6)));
    expect(delays.size).toBeGreaterThan(40);
  });
});
