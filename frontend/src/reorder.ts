/**
 * The reorder/gap buffer: turns `ops` frames that may arrive out of order or with holes into a
 * contiguous run of log entries, and asks for a resync when a hole does not fill in time.
 *
 * docs/protocol.md §4: an entry with `s <= applied` is a harmless duplicate; one beyond
 * `applied + 1` is held for up to `gap_wait_ms` (the server's own inter-process gap repair
 * usually fills it first), then the owner sends `resync` from its applied seq.
 */
import type { LogEntry } from "./protocol";

/** Past this many held entries a resync is cheaper than holding more (memory bound). */
export const MAX_HELD_ENTRIES = 20_000;

export class ReorderBuffer {
  private readonly held = new Map<number, LogEntry>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  /**
   * `onGap(applied)` is called when a hole outlived `gapWaitMs`, or at once when the buffer
   * is full; the owner answers it with a `resync` frame.
   */
  constructor(
    public gapWaitMs: number,
    private readonly onGap: () => void,
  ) {}

  /** Entries to apply now, in seq order, given the seq applied so far. Holds the rest. */
  offer(applied: number, entries: readonly LogEntry[]): LogEntry[] {
    for (const entry of entries) {
      if (entry.s > applied) this.held.set(entry.s, entry);
    }
    return this.drain(applied);
  }

  /** Take every held entry that continues `applied`; (re)arm or disarm the gap timer. */
  drain(applied: number): LogEntry[] {
    const ready: LogEntry[] = [];
    let next = applied + 1;
    for (let entry = this.held.get(next); entry; entry = this.held.get(next)) {
      ready.push(entry);
      this.held.delete(next);
      next += 1;
    }
    for (const s of this.held.keys()) if (s < next) this.held.delete(s);
    this.updateTimer();
    return ready;
  }

  /** A snapshot replaced the state at `seq`: older held entries are obsolete. */
  resetTo(seq: number): void {
    for (const s of this.held.keys()) if (s <= seq) this.held.delete(s);
  }

  get heldCount(): number {
    return this.held.size;
  }

  /** Stop the timer and forget held entries (socket closed; the catch-up will resend). */
  clear(): void {
    this.held.clear();
    this.updateTimer();
  }

  private updateTimer(): void {
    if (this.held.size === 0) {
      if (this.timer !== null) clearTimeout(this.timer);
      this.timer = null;
      return;
    }
    if (this.held.size > MAX_HELD_ENTRIES) {
      this.held.clear();
      this.updateTimer();
      this.onGap();
      return;
    }
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.held.size > 0) {
        this.onGap();
        // Still a hole after the resync's catch-up? Ask again after another wait.
        this.updateTimer();
      }
    }, this.gapWaitMs);
  }
}
