/**
 * In-place changes of SyncClient's rendered view: which elements each one touched, and when the
 * log confirming ops leaves the view as it is.
 *
 * Building the view copies the whole board, so while someone draws it is kept and changed in
 * place instead; a renderer then asks what changed (`TouchLog.since`) rather than comparing the
 * whole state every frame.
 */
import type { LogEntry } from "./protocol";
import type { TentativeLayer } from "./tentative";

/**
 * Versions of in-place view changes remembered for `since`; a reader further behind gets null
 * and compares the whole state (a renderer reads every frame, so this is plenty).
 */
const TOUCHED_KEPT = 256;

/**
 * The elements changed in place in a view since it was built, with the version each change
 * made; versions before `from` changed the view wholesale.
 */
export class TouchLog {
  private touched: { version: number; id: string }[] = [];
  private from = 0;

  /** The elements `ids` were changed in place, making `version`. */
  touch(version: number, ids: readonly string[]): void {
    for (const id of ids) this.touched.push({ version, id });
    if (this.touched.length > 2 * TOUCHED_KEPT) {
      this.touched = this.touched.slice(-TOUCHED_KEPT);
      this.from = this.touched[0].version;
    }
  }

  /** The view changed wholesale (rebuilt), making `version`. */
  reset(version: number): void {
    this.touched = [];
    this.from = version;
  }

  /**
   * The ids of the elements changed in place since `version`, newest first; null when the view
   * may have changed any other way since (compare all of it then).
   */
  since(version: number): string[] | null {
    if (version < this.from) return null;
    const ids: string[] = [];
    for (let k = this.touched.length - 1; k >= 0 && this.touched[k].version > version; k--) ids.push(this.touched[k].id);
    return ids;
  }
}

/**
 * Whether applying the log's `entries` to the confirmed state leaves what the view shows as it
 * is, so that a view kept as a separate copy stays valid. Either:
 *
 * - they are exactly this client's oldest pending ops (`pendingIds`, oldest first), in order,
 *   each an acknowledgement (`isOwnAck`: an entry under our id may be someone else's, sync.ts):
 *   confirming them moves them from the pending layer into the confirmed state (a copy of the
 *   board per batch of one's own points would be the most costly part of inking on a big
 *   board). Others' tentatives sit between the two: confirming our appends moves them beneath
 *   those, which shows the same unless one touches the stroke;
 * - or they are exactly the oldest tentatives, in arrival order (the usual case: others' ops
 *   arrive as tentatives, then their commit).
 */
export function confirmationKeepsView(
  entries: readonly LogEntry[],
  isOwnAck: (entry: LogEntry) => boolean,
  pendingIds: Iterator<number>,
  tentatives: TentativeLayer,
): boolean {
  return confirmsOwnInOrder(entries, isOwnAck, pendingIds, tentatives) || tentatives.areOldest(entries);
}

function confirmsOwnInOrder(
  entries: readonly LogEntry[],
  isOwnAck: (entry: LogEntry) => boolean,
  pendingIds: Iterator<number>,
  tentatives: TentativeLayer,
): boolean {
  for (const entry of entries) {
    if (!isOwnAck(entry) || pendingIds.next().value !== entry.i) return false;
  }
  if (tentatives.size === 0) return true;
  const ids = new Set<string>();
  for (const entry of entries) {
    if (entry.k !== "app") return false;
    ids.add(entry.id);
  }
  return !tentatives.mayTouchAny(ids);
}
