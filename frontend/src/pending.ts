/**
 * PendingOps: this client's unconfirmed ops, the optimistic layer SyncClient renders on top of
 * the confirmed state and replays over every newer one (a rebase).
 *
 * An op stays here until the confirmed state holds it (its log entry, or its ack's seq reached)
 * or the server refuses it for good; an ack alone keeps it, so nothing flickers out while the
 * log catches up.
 */
import type { Op } from "./protocol";

interface Pending {
  op: Op;
  /** Seq from an `ack`, once known: the op is confirmed when the state reaches it. */
  ackedSeq: number | null;
}

export class PendingOps {
  /** By `i`, in the order they were submitted (the order the log stores one client's ops). */
  private readonly ops = new Map<number, Pending>();

  get size(): number {
    return this.ops.size;
  }

  add(op: Op): void {
    this.ops.set(op.i, { op, ackedSeq: null });
  }

  /** Op `i` left: the log holds it, or the server will never store it. */
  delete(i: number): void {
    this.ops.delete(i);
  }

  /** The server stored op `i` at seq `s`. */
  ack(i: number, s: number): void {
    const p = this.ops.get(i);
    if (p) p.ackedSeq = s;
  }

  /** Their ids, oldest first. */
  ids(): IterableIterator<number> {
    return this.ops.keys();
  }

  /** The ops in `i` order, as the view applies them. */
  inOrder(): Op[] {
    return [...this.ops.values()].map((p) => p.op).sort((a, b) => a.i - b.i);
  }

  /**
   * Forget ops whose acked seq the confirmed state (at seq `applied`) has reached; whether any
   * were.
   *
   * BUG: an op stored before a reload whose ack was lost stays pending until its resend is
   * acked; if a snapshot already contains it, an `app` is briefly drawn twice (duplicate
   * points) until that ack arrives, a round trip later. Harmless and self-healing.
   */
  dropConfirmed(applied: number): boolean {
    const before = this.ops.size;
    for (const [i, p] of this.ops) {
      if (p.ackedSeq !== null && p.ackedSeq <= applied) this.ops.delete(i);
    }
    return this.ops.size !== before;
  }
}
