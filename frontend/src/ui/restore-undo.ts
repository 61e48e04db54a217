/**
 * A snapshot restore as an undoable step of the user who did it.
 *
 * The restore endpoint keeps the board as it was in a snapshot ("Before restoring …") and
 * answers its id (`undo_snapshot`); undoing the restore restores that snapshot, redoing it
 * restores the chosen one again. Both are restores on the server: the log stays append-only
 * and everyone sees them as `rst` ops.
 *
 * A `rst` by anyone else replaces the board under our undo steps, whose inverse ops would then
 * re-add or move things that are gone: such a restore empties our undo stack. Our own `rst`s
 * may reach the socket before their HTTP answer names their seq, so while a request of ours
 * is in flight the seqs seen are held until it is known whose they were.
 */
import { api } from "../api";
import type { Editor } from "../editor";
import type { UndoEntry } from "../undo";

interface RestoreAnswer {
  seq: number;
  restored_from: number;
  undo_snapshot: number;
}

export class RestoreUndo {
  /** Seqs of the `rst` ops our requests appended. */
  private readonly own = new Set<number>();
  /** `rst` seqs seen while a request of ours was in flight, not yet known to be ours. */
  private held: number[] = [];
  private inflight = 0;

  constructor(
    private readonly ed: Editor,
    private readonly boardId: string,
    private readonly onError: (err: unknown) => void = (err) => console.warn("inkroom: restore failed", err),
  ) {
    ed.sync.entryListeners.add((entry) => {
      if (entry.k === "rst") this.seen(entry.s);
    });
  }

  /** Restore snapshot `snapshotId` for everyone, as one undoable step of ours. */
  async restore(snapshotId: number | string): Promise<void> {
    const answer = await this.call(snapshotId, (seq) => this.dropHeld((s) => s < seq));
    let before = answer.undo_snapshot;
    const entry: UndoEntry = {
      undo: () => {
        void this.call(before).catch(this.onError);
        return [];
      },
      redo: () => {
        void this.call(snapshotId)
          .then((again) => (before = again.undo_snapshot))
          .catch(this.onError);
        return [];
      },
    };
    this.ed.undoStack.push(entry);
  }

  /**
   * POST the restore; `first` runs with its seq before the held seqs are settled (restore()
   * drops the steps a restore by someone else before ours made stale, then pushes its own).
   */
  private async call(snapshotId: number | string, first?: (seq: number) => void): Promise<RestoreAnswer> {
    this.inflight += 1;
    try {
      const answer = (await api.restoreSnapshot(this.boardId, snapshotId)) as RestoreAnswer;
      this.own.add(answer.seq);
      first?.(answer.seq);
      return answer;
    } finally {
      this.inflight -= 1;
      if (this.inflight === 0) this.dropHeld(() => true);
    }
  }

  private seen(seq: number): void {
    if (this.own.has(seq)) return;
    if (this.inflight > 0) this.held.push(seq);
    else this.ed.undoStack.clear();
  }

  /** Empty the undo stack if a held seq matching `which` was someone else's; forget those. */
  private dropHeld(which: (seq: number) => boolean): void {
    const foreign = this.held.filter((s) => which(s) && !this.own.has(s));
    this.held = this.held.filter((s) => !which(s));
    if (foreign.length > 0) this.ed.undoStack.clear();
  }
}
