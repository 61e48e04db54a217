import { describe, expect, it } from "vitest";
import { PendingOps } from "./pending";
import type { Op } from "./protocol";
import { rect } from "./testing";

const add = (i: number): Op => ({ i, k: "add", el: rect(`r${i}`) });

describe("PendingOps", () => {
  it("keeps an acked op until the confirmed state reaches its seq", () => {
    const pending = new PendingOps();
    pending.add(add(1));
    pending.add(add(2));
    pending.ack(1, 5);
    expect(pending.dropConfirmed(4)).toBe(false);
    expect(pending.size).toBe(2);
    expect(pending.dropConfirmed(5)).toBe(true);
    expect([...pending.ids()]).toEqual([2]);
    expect(pending.dropConfirmed(9)).toBe(false); // unacked: only its log entry confirms it
  });

  it("lists ids in submission order and ops in i order", () => {
    const pending = new PendingOps();
    for (const i of [3, 1, 2]) pending.add(add(i));
    expect([...pending.ids()]).toEqual([3, 1, 2]);
    expect(pending.inOrder().map((op) => op.i)).toEqual([1, 2, 3]);
  });
});
