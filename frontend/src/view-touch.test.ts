import { describe, expect, it } from "vitest";
import type { LogEntry, Op, TentativeOp } from "./protocol";
import { TentativeLayer } from "./tentative";
import { stroke } from "./testing";
import { confirmationKeepsView, TouchLog } from "./view-touch";

const entry = (op: Op, s: number, c: string): LogEntry => ({ ...op, s, c, u: 1 }) as LogEntry;
const app = (i: number, id: string): Op => ({ i, k: "app", id, p: [1, 1] });

describe("TouchLog", () => {
  it("names what changed in place since a version, newest first, and null across a rebuild", () => {
    const log = new TouchLog();
    log.reset(3);
    log.touch(4, ["s"]);
    log.touch(5, ["t", "s"]);
    expect(log.since(3)).toEqual(["s", "t", "s"]);
    expect(log.since(4)).toEqual(["s", "t"]);
    expect(log.since(5)).toEqual([]);
    expect(log.since(2)).toBeNull();
    log.reset(6);
    expect(log.since(5)).toBeNull();
    expect(log.since(6)).toEqual([]);
  });

  it("forgets the oldest changes after many, and says so to a reader that far behind", () => {
    const log = new TouchLog();
    for (let v = 1; v <= 600; v++) log.touch(v, ["s"]);
    expect(log.since(1)).toBeNull();
    expect(log.since(590)).toEqual(Array(10).fill("s"));
  });
});

describe("confirmationKeepsView", () => {
  const none = new TentativeLayer();
  const by = (clientId: string) => (e: LogEntry) => e.c === clientId;
  const layer = (...ops: TentativeOp[]) => {
    const t = new TentativeLayer();
    t.offer(ops);
    return t;
  };

  it("holds for our oldest pending ops in order, and not for others' or out of order", () => {
    const ours = [entry(app(1, "s"), 1, "me"), entry({ i: 2, k: "add", el: stroke("t") }, 2, "me")];
    expect(confirmationKeepsView(ours, by("me"), [1, 2, 3].values(), none)).toBe(true);
    expect(confirmationKeepsView(ours, by("me"), [2, 1].values(), none)).toBe(false);
    expect(confirmationKeepsView(ours, by("me"), [0, 1, 2].values(), none)).toBe(false);
    expect(confirmationKeepsView(ours, by("you"), [1, 2].values(), none)).toBe(false);
  });

  it("holds for our appends under tentatives only when none may touch their strokes", () => {
    const ours = [entry(app(1, "s"), 1, "me")];
    const elsewhere = layer({ ...app(5, "t"), c: "x" } as TentativeOp);
    const same = layer({ i: 5, k: "del", ids: ["s"], c: "x" });
    expect(confirmationKeepsView(ours, by("me"), [1].values(), elsewhere)).toBe(true);
    expect(confirmationKeepsView(ours, by("me"), [1].values(), same)).toBe(false);
    const add = [entry({ i: 1, k: "add", el: stroke("u") }, 1, "me")];
    expect(confirmationKeepsView(add, by("me"), [1].values(), elsewhere)).toBe(false);
  });

  it("holds for the oldest tentatives in arrival order", () => {
    const tentatives = layer({ ...app(5, "t"), c: "x" } as TentativeOp, { ...app(2, "t"), c: "y" } as TentativeOp);
    expect(confirmationKeepsView([entry(app(5, "t"), 1, "x")], by("me"), [].values(), tentatives)).toBe(true);
    expect(confirmationKeepsView([entry(app(2, "t"), 1, "y")], by("me"), [].values(), tentatives)).toBe(false);
  });
});
