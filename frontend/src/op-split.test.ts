import { describe, expect, it } from "vitest";
import { IDS_PER_OP, splitOp } from "./op-split";
import { applyOp, emptyState } from "./ops";
import { encode, type Op } from "./protocol";
import { rect, stroke } from "./testing";

/** Number ops as the outbox would, from 1. */
function numbered(ops: ReturnType<typeof splitOp>): Op[] {
  return ops.map((op, k) => ({ ...op, i: k + 1 }) as Op);
}

function board(ops: Op[]): unknown {
  const state = emptyState();
  for (const op of ops) applyOp(state, op);
  return [...state.elements.values()];
}

describe("splitOp", () => {
  it("splits a long stroke add into an add and appends that draw the same stroke", () => {
    const n = 2500;
    const p = Array.from({ length: 2 * n }, (_, k) => (k % 7) - 3);
    const pr = Array.from({ length: n }, (_, k) => k % 101);
    const whole = { k: "add" as const, el: { ...stroke("s", 5, 6, p), pr } };
    const parts = splitOp(whole, 1024);
    expect(parts.map((op) => op.k)).toEqual(["add", "app", "app"]);
    expect(board(numbered(parts))).toEqual(board(numbered([whole])));
    for (const op of numbered(parts)) expect((encode({ t: "ops", ops: [op] }) as Uint8Array).byteLength).toBeLessThan(16_384);
  });

  it("keeps each part within the per-op bound, pressures with their points", () => {
    const p = Array.from({ length: 10 }, (_, k) => k);
    const el = { ...stroke("s", 0, 0, p), pr: [1, 2, 3, 4, 5] };
    const parts = splitOp({ k: "add", el }, 2);
    expect(parts.map((op) => op.k)).toEqual(["add", "app", "app"]);
    expect(board(numbered(parts))).toEqual([el]);
    for (const op of parts) {
      const [pts, prs] = op.k === "add" ? [op.el.p ?? [], op.el.pr ?? []] : op.k === "app" ? [op.p, op.pr ?? []] : [[], []];
      expect(pts.length).toBeLessThanOrEqual(4);
      expect(prs.length).toBe(pts.length / 2);
    }
  });

  it("splits a big mov or del by ids, naming each id once", () => {
    const ids = Array.from({ length: 2 * IDS_PER_OP + 5 }, (_, k) => `el-${k}`);
    const els = ids.map((id, k) => ({ k: "add" as const, el: rect(id, k, k) }));
    const mov = { k: "mov" as const, ids: [...ids, ids[0]], dx: 3, dy: -4 };
    const parts = splitOp(mov, 1024);
    expect(parts).toHaveLength(3);
    expect(board(numbered([...els, ...parts]))).toEqual(board(numbered([...els, mov])));
    expect(splitOp({ k: "del", ids }, 1024).flatMap((op) => (op.k === "del" ? op.ids : []))).toEqual(ids);
  });

  it("leaves ops that fit alone", () => {
    const op = { k: "add" as const, el: stroke("s", 0, 0, [0, 0, 1, 1]) };
    expect(splitOp(op, 1024)).toEqual([op]);
  });
});
