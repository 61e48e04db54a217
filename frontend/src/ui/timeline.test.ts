import { describe, expect, it } from "vitest";
import type { HistoryStep } from "../api";
import { snapshotTitle, TimelineView } from "./timeline";

const step = (first_seq: number, seq: number, who: string | null, at = "2026-12-07T11:20:05Z"): HistoryStep => ({
  seq, first_seq, kind: "add", ops: seq - first_seq + 1, at, author: who ? { id: 1, username: who } : null,
});

describe("TimelineView", () => {
  const view = new TimelineView({ steps: [step(1, 31, "ann"), step(32, 32, "ben"), step(33, 40, null)], truncated: false, head_seq: 40 });

  it("steps by change: position k shows the board after the k-th whole change", () => {
    expect([0, 1, 2, 3].map((k) => view.seqAt(k))).toEqual([0, 31, 32, 40]);
  });

  it("names who made the change at a position and when", () => {
    expect(view.label(2)).toMatch(/^ben · .*2026.* · change 2 of 3$/);
    expect(view.label(3)).toMatch(/^someone · /);
    expect(view.label(0)).toBe("Before the first change");
  });

  it("starts just before the oldest change kept when older ones were left out", () => {
    const cut = new TimelineView({ steps: [step(500, 510, "ann")], truncated: true, head_seq: 510 });
    expect(cut.seqAt(0)).toBe(499);
    expect(cut.label(0)).toBe("Before the oldest change kept");
  });
});

describe("snapshotTitle", () => {
  it("labels automatic snapshots by the time they were taken", () => {
    const title = snapshotTitle({ kind: "auto", label: "", created_at: "2026-12-07T11:20:05Z" });
    expect(title).toMatch(/^Automatic snapshot · .*2026/);
    expect(snapshotTitle({ kind: "manual", label: "before review", created_at: "2026-12-07T11:20:05Z" })).toBe("before review");
  });
});
