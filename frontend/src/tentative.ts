/**
 * TentativeLayer: others' ops the server sent before their commit (protocol §2.6), by `c` and
 * `i`, in arrival order.
 *
 * Only a socket opened with `tentative=1` gets them. SyncClient renders them between the
 * confirmed state and its own pending ops; each leaves when its log entry arrives, in a `tdrop`,
 * or on any reconnect, resync or `snap` (what was sent before a commit may never be committed).
 */
import type { LogEntry, Op, TentativeOp } from "./protocol";

export class TentativeLayer {
  private readonly ops = new Map<string, TentativeOp>();

  get size(): number {
    return this.ops.size;
  }

  /** In arrival order: the order they are rendered in. */
  values(): IterableIterator<TentativeOp> {
    return this.ops.values();
  }

  has(op: Pick<TentativeOp, "c" | "i">): boolean {
    return this.ops.has(key(op.c, op.i));
  }

  /** Add `ops` after the others; one offered again (a resend) takes its new place. */
  offer(ops: readonly TentativeOp[]): void {
    for (const op of ops) {
      const k = key(op.c, op.i);
      this.ops.delete(k);
      this.ops.set(k, op);
    }
  }

  /** The log's `entry` replaces the tentative it commits, if there is one. */
  confirm(entry: LogEntry): void {
    if (this.ops.size) this.ops.delete(key(entry.c, entry.i));
  }

  /** Forget the tentatives named by `(c, i)`; whether any was held. */
  drop(keys: readonly (readonly [string, number])[]): boolean {
    let dropped = false;
    for (const [c, i] of keys) dropped = this.ops.delete(key(c, i)) || dropped;
    return dropped;
  }

  /** Forget them all; whether there were any. */
  clear(): boolean {
    if (this.ops.size === 0) return false;
    this.ops.clear();
    return true;
  }

  /**
   * Whether `entries` are exactly the oldest tentatives, in arrival order: moving them into the
   * confirmed state then changes nothing shown (the usual case: others' ops arrive as
   * tentatives, then their commit).
   */
  areOldest(entries: readonly LogEntry[]): boolean {
    if (this.ops.size < entries.length) return false;
    const oldest = this.ops.keys();
    for (const entry of entries) if (oldest.next().value !== key(entry.c, entry.i)) return false;
    return true;
  }

  /** Whether applying any tentative may read or change one of the elements `ids`. */
  mayTouchAny(ids: ReadonlySet<string>): boolean {
    for (const op of this.ops.values()) if (mayTouch(op, ids)) return true;
    return false;
  }
}

/** Whether applying `op` may read or change one of the elements `ids` (conservative). */
export function mayTouch(op: Op, ids: ReadonlySet<string>): boolean {
  switch (op.k) {
    case "add":
      return ids.has(op.el.id);
    case "app":
    case "upd":
      return ids.has(op.id);
    case "mov":
    case "del":
    case "ord":
      return op.ids.some((id) => ids.has(id));
    default:
      return true;
  }
}

function key(c: string, i: number): string {
  return `${c} ${i}`;
}
