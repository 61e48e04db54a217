/**
 * What the history slider and the snapshot list say: a position's time and author, and a time
 * for automatic snapshots (which have no label of their own).
 */
import type { HistoryStep, SnapshotInfo, Timeline } from "../api";

/** Shown, with "Back to live", while a past state is on the canvas and the tools are off. */
export const PREVIEW_REASON = "Previewing history — return to live to draw";

/** "7 Dec 2026, 11:20:05": to the second, as changes come seconds apart. */
export function when(iso: string): string {
  return new Date(iso).toLocaleString(undefined, {
    day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
}

/** How a snapshot is listed: its label, or for an automatic one the time it was taken. */
export function snapshotTitle(snap: Pick<SnapshotInfo, "label" | "kind" | "created_at">): string {
  if (snap.kind === "auto") return `Automatic snapshot · ${when(snap.created_at)}`;
  return snap.label || `Snapshot · ${when(snap.created_at)}`;
}

/**
 * The slider's positions: 0 is the board before the first change listed, k (1..length) the
 * board right after the k-th change.
 */
export class TimelineView {
  readonly steps: HistoryStep[];
  private readonly base: number;

  constructor(private readonly timeline: Timeline) {
    this.steps = timeline.steps;
    // Without older changes left out, position 0 is the empty board of seq 0.
    this.base = timeline.truncated && this.steps.length ? this.steps[0].first_seq - 1 : 0;
  }

  get length(): number {
    return this.steps.length;
  }

  /** The board seq shown at position k. */
  seqAt(k: number): number {
    return k <= 0 ? this.base : this.steps[Math.min(k, this.steps.length) - 1].seq;
  }

  /** "bob · 7 Dec 2026, 11:20:05 · change 3 of 3". */
  label(k: number): string {
    if (k <= 0) return this.timeline.truncated ? "Before the oldest change kept" : "Before the first change";
    const step = this.steps[Math.min(k, this.steps.length) - 1];
    const who = step.author?.username ?? "someone";
    return `${who} · ${when(step.at)} · change ${k} of ${this.steps.length}`;
  }
}
