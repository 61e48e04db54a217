import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { LogEntry } from "./protocol";
import { MAX_HELD_ENTRIES, ReorderBuffer } from "./reorder";

const entry = (s: number): LogEntry => ({ s, c: "x", u: null, i: s, k: "clr" });
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, k) => entry(a + k));
const seqs = (es: LogEntry[]) => es.map((e) => e.s);

describe("ReorderBuffer", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("passes contiguous frames straight through and ignores duplicates", () => {
    const gaps = vi.fn();
    const buf = new ReorderBuffer(500, gaps);
    expect(seqs(buf.offer(0, range(1, 3)))).toEqual([1, 2, 3]);
    expect(seqs(buf.offer(3, range(2, 5)))).toEqual([4, 5]);
    expect(buf.heldCount).toBe(0);
    vi.advanceTimersByTime(1000);
    expect(gaps).not.toHaveBeenCalled();
  });

  it("holds a frame after a hole and releases it when the hole fills in time", () => {
    const gaps = vi.fn();
    const buf = new ReorderBuffer(500, gaps);
    expect(buf.offer(3, range(6, 7))).toEqual([]);
    expect(buf.heldCount).toBe(2);
    vi.advanceTimersByTime(400);
    expect(seqs(buf.offer(3, range(4, 5)))).toEqual([4, 5, 6, 7]);
    vi.advanceTimersByTime(1000);
    expect(gaps).not.toHaveBeenCalled();
  });

  it("asks for a resync once the hole outlives gap_wait_ms, and again while it persists", () => {
    const gaps = vi.fn();
    const buf = new ReorderBuffer(500, gaps);
    buf.offer(0, range(3, 4));
    vi.advanceTimersByTime(499);
    expect(gaps).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(gaps).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(500);
    expect(gaps).toHaveBeenCalledTimes(2);
    // The catch-up answers with 1..2: the held 3..4 follow without a duplicate.
    expect(seqs(buf.offer(0, range(1, 2)))).toEqual([1, 2, 3, 4]);
    vi.advanceTimersByTime(5000);
    expect(gaps).toHaveBeenCalledTimes(2);
  });

  it("drops held entries made obsolete by a snapshot", () => {
    const buf = new ReorderBuffer(500, vi.fn());
    buf.offer(0, [...range(3, 4), ...range(9, 10)]);
    buf.resetTo(8);
    expect(seqs(buf.drain(8))).toEqual([9, 10]);
    expect(buf.heldCount).toBe(0);
  });

  it("gives up holding past its bound and resyncs at once", () => {
    const gaps = vi.fn();
    const buf = new ReorderBuffer(500, gaps);
    buf.offer(0, range(2, MAX_HELD_ENTRIES + 2));
    expect(gaps).toHaveBeenCalledTimes(1);
    expect(buf.heldCount).toBe(0);
  });
});
