/**
 * Ops too big for one frame, split into ops that each fit, before they get their ids.
 *
 * An op is refused `too_large` when its frame passes `max_frame_bytes`, and a frame of one op
 * cannot get smaller: resent, it is refused again, forever, and every op after it waits in the
 * outbox. A stroke `add` has no point bound of its own (a whole stroke comes back in one `add`
 * when a delete is undone), and a `mov` or `del` of a big selection may name 10,000 ids of up
 * to 32 chars. Split like this, the ops apply to exactly the same board (an `app` continues the
 * stroke's deltas where the `add` stopped; moving or deleting in parts is the same as at once).
 */

import type { NewOp } from "./protocol";

/** Ids per `mov` or `del`: 1,000 ids of 32 chars are ~34 KB, far within a frame. */
export const IDS_PER_OP = 1000;

/** `op`, or the ops that together do what it does, each within `maxPoints` points and IDS_PER_OP ids. */
export function splitOp(op: NewOp, maxPoints: number): NewOp[] {
  if (op.k === "add" && op.el.type === "stroke" && Array.isArray(op.el.p) && op.el.p.length > 2 * maxPoints) {
    const { p, pr } = op.el;
    const out: NewOp[] = [
      { ...op, el: { ...op.el, p: p.slice(0, 2 * maxPoints), ...(pr ? { pr: pr.slice(0, maxPoints) } : {}) } },
    ];
    for (let k = maxPoints; k < p.length / 2; k += maxPoints) {
      const part: NewOp = { k: "app", id: op.el.id, p: p.slice(2 * k, 2 * (k + maxPoints)) };
      if (pr) part.pr = pr.slice(k, k + maxPoints);
      out.push(part);
    }
    return out;
  }
  if ((op.k === "mov" || op.k === "del") && op.ids.length > IDS_PER_OP) {
    // One op moves an id it names twice once; two parts naming it would move it twice.
    const ids = [...new Set(op.ids)];
    const out: NewOp[] = [];
    for (let k = 0; k < ids.length; k += IDS_PER_OP) out.push({ ...op, ids: ids.slice(k, k + IDS_PER_OP) });
    return out;
  }
  return [op];
}
