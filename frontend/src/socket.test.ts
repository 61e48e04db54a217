import { describe, expect, it } from "vitest";
import { BACKOFF_BASE_MS, BACKOFF_MAX_MS, backoffDelay, canRetryNow, RETRY_NOW_GAP_MS } from "./socket";

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

describe("canRetryNow", () => {
  const waiting = { kind: "reconnecting", at: 20_000 } as const;

  it("cuts a backoff wait short", () => {
    expect(canRetryNow(waiting, 0, 5_000)).toBe(true);
  });

  it("leaves live, connecting, offline and final states alone", () => {
    expect(canRetryNow({ kind: "connected" }, 0, 5_000)).toBe(false);
    expect(canRetryNow({ kind: "connecting" }, 0, 5_000)).toBe(false);
    expect(canRetryNow({ kind: "offline" }, 0, 5_000)).toBe(false);
    expect(canRetryNow({ kind: "fatal", code: 4004, message: "gone" }, 0, 5_000)).toBe(false);
    expect(canRetryNow({ kind: "unauthenticated" }, 0, 5_000)).toBe(false);
  });

  it("does not retry twice within the gap", () => {
    expect(canRetryNow(waiting, 5_000, 5_000 + RETRY_NOW_GAP_MS - 1)).toBe(false);
    expect(canRetryNow(waiting, 5_000, 5_000 + RETRY_NOW_GAP_MS)).toBe(true);
  });
});
