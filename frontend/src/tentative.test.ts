import { describe, expect, it } from "vitest";
import type { LogEntry, Op, TentativeOp } from "./protocol";
import type { SyncClient } from "./sync";
import { TentativeLayer } from "./tentative";
import { HELLO, liveSyncClient, rect, stroke } from "./testing";

// The tentative layer of SyncClient (protocol §2.6): others' ops before their commit.

const entry = (op: Op, s: number, c: string): LogEntry => ({ ...op, s, c, u: 1 }) as LogEntry;
const tent = (op: Op, c: string): TentativeOp => ({ ...op, c }) as TentativeOp;
const color = (i: number, id: string, value: string): Op =>
  ({ i, k: "upd", id, set: { style: { color: value } } }) as Op;
const colorOf = (client: SyncClient, id: string) => client.view().elements.get(id)?.style.color;

describe("SyncClient tentative layer", () => {
  it("shows others' tentatives under its own outbox, and the log's entry replaces them", () => {
    const { client } = liveSyncClient();
    client.handle({ t: "ops", ops: [entry({ i: 1, k: "add", el: rect("r") }, 1, "other")] });
    client.handle({ t: "tent", ops: [tent(color(2, "r", "#ff0000"), "other")] });
    expect(colorOf(client, "r")).toBe("#ff0000");
    expect(client.confirmed.elements.get("r")?.style.color).not.toBe("#ff0000");
    client.submit([{ k: "upd", id: "r", set: { style: { color: "#0000ff" } } }]);
    expect(colorOf(client, "r")).toBe("#0000ff");
    // The log orders ours first: the other's change is the last word, and no copy is left.
    client.handle({
      t: "ops",
      ops: [entry(color(1, "r", "#0000ff"), 2, "me"), entry(color(2, "r", "#ff0000"), 3, "other")],
    });
    expect(client.tentativeCount).toBe(0);
    expect(client.outbox.size).toBe(0);
    expect(client.view()).toBe(client.confirmed);
    expect(colorOf(client, "r")).toBe("#ff0000");
  });

  it("ignores its own ops in a tent frame and keeps arrival order between authors", () => {
    const { client } = liveSyncClient();
    client.handle({ t: "ops", ops: [entry({ i: 1, k: "add", el: rect("r") }, 1, "other")] });
    client.handle({ t: "tent", ops: [tent(color(5, "r", "#00ff00"), "third"), tent(color(1, "r", "#000000"), "me")] });
    client.handle({ t: "tent", ops: [tent(color(2, "r", "#ff0000"), "other")] });
    expect(client.tentativeCount).toBe(2);
    expect(colorOf(client, "r")).toBe("#ff0000");
  });

  it("drops tentatives on tdrop, on a reconnect, on a resync and on a snap", () => {
    const { client, sent } = liveSyncClient();
    client.handle({ t: "tent", ops: [tent({ i: 1, k: "add", el: rect("a") }, "other"), tent({ i: 2, k: "add", el: rect("b") }, "other")] });
    client.handle({ t: "tdrop", ops: [["other", 1]] });
    expect([...client.view().elements.keys()]).toEqual(["b"]);
    client.detach();
    expect(client.view().elements.size).toBe(0);
    client.attach((f) => sent.push(f));
    client.handle(HELLO);
    client.handle({ type: "synced", seq: 0 });
    client.handle({ t: "tent", ops: [tent({ i: 3, k: "add", el: rect("c") }, "other")] });
    client.resync();
    expect(client.view().elements.size).toBe(0);
    client.handle({ t: "tent", ops: [tent({ i: 4, k: "add", el: rect("d") }, "other")] });
    client.handle({ t: "snap", s: 7, els: [rect("z")] });
    expect([...client.view().elements.keys()]).toEqual(["z"]);
    expect(client.tentativeCount).toBe(0);
  });

  it("keeps the view when the log confirms the oldest tentatives in order, and rebuilds it otherwise", () => {
    const { client } = liveSyncClient();
    client.handle({ t: "ops", ops: [entry({ i: 1, k: "add", el: stroke("s") }, 1, "other")] });
    client.handle({ t: "tent", ops: [tent({ i: 2, k: "app", id: "s", p: [1, 1] }, "other")] });
    const view = client.view();
    const version = client.version;
    client.handle({ t: "tent", ops: [tent({ i: 3, k: "app", id: "s", p: [2, 2] }, "other")] });
    // An append with nothing pending above it changes the view in place, and says which element.
    expect(client.view()).toBe(view);
    expect(client.touchedSince(version)).toEqual(["s"]);
    expect(view.elements.get("s")?.p).toEqual([0, 0, 1, 1, 2, 2]);
    client.handle({ t: "ops", ops: [entry({ i: 2, k: "app", id: "s", p: [1, 1] }, 2, "other")] });
    expect(client.view()).toBe(view);
    expect(client.tentativeCount).toBe(1);
    // Out of arrival order (another author's entry first): rebuilt, in the log's order.
    client.handle({ t: "tent", ops: [tent({ i: 1, k: "add", el: rect("r") }, "third")] });
    client.handle({ t: "ops", ops: [entry({ i: 1, k: "add", el: rect("r") }, 3, "third")] });
    expect([...client.view().elements.keys()]).toEqual(["s", "r"]);
    expect(client.view().elements.get("s")?.p).toEqual([0, 0, 1, 1, 2, 2]);
  });

  it("shows what the log will when our confirmed append has a tentative on the same stroke above it", async () => {
    const { client } = liveSyncClient();
    client.handle({ t: "ops", ops: [entry({ i: 9, k: "add", el: stroke("s") }, 1, "me")] });
    client.submit([{ k: "app", id: "s", p: [1, 1] }]);
    client.handle({ t: "tent", ops: [tent({ i: 1, k: "del", ids: ["s"] }, "other")] });
    expect(client.view().elements.has("s")).toBe(false);
    client.handle({ t: "ops", ops: [entry({ i: 1, k: "app", id: "s", p: [1, 1] }, 2, "me")] });
    expect(client.view().elements.has("s")).toBe(false);
    client.handle({ t: "ops", ops: [entry({ i: 1, k: "del", ids: ["s"] }, 3, "other")] });
    expect(client.tentativeCount).toBe(0);
    expect(client.view().elements).toEqual(client.confirmed.elements);
  });
});

describe("TentativeLayer", () => {
  const add = (c: string, i: number, id: string) => tent({ i, k: "add", el: rect(id) }, c);
  const ids = (layer: TentativeLayer) => [...layer.values()].map((op) => `${op.c}${op.i}`);

  it("keeps arrival order; a resend takes its new place, and the log's entry or a drop removes one", () => {
    const layer = new TentativeLayer();
    layer.offer([add("x", 1, "a"), add("y", 1, "b")]);
    layer.offer([add("z", 7, "c"), add("x", 1, "a")]);
    expect(ids(layer)).toEqual(["y1", "z7", "x1"]);
    layer.confirm(entry({ i: 7, k: "add", el: rect("c") }, 1, "z"));
    layer.confirm(entry({ i: 7, k: "add", el: rect("c") }, 2, "x")); // another author's 7: none held
    expect(ids(layer)).toEqual(["y1", "x1"]);
    expect(layer.drop([["y", 2]])).toBe(false);
    expect(layer.drop([["y", 2], ["y", 1]])).toBe(true);
    expect(layer.has({ c: "x", i: 1 })).toBe(true);
    expect(layer.clear()).toBe(true);
    expect(layer.clear()).toBe(false);
  });

  it("says whether entries are exactly its oldest, in arrival order", () => {
    const layer = new TentativeLayer();
    layer.offer([add("x", 1, "a"), add("y", 1, "b")]);
    const e = (c: string, i: number, s: number) => entry({ i, k: "add", el: rect(`${c}${i}`) }, s, c);
    expect(layer.areOldest([e("x", 1, 1)])).toBe(true);
    expect(layer.areOldest([e("x", 1, 1), e("y", 1, 2)])).toBe(true);
    expect(layer.areOldest([e("y", 1, 1)])).toBe(false);
    expect(layer.areOldest([e("y", 1, 1), e("x", 1, 2)])).toBe(false);
    expect(layer.areOldest([e("x", 1, 1), e("y", 1, 2), e("z", 1, 3)])).toBe(false);
  });

  it("says whether any tentative may touch the given elements", () => {
    const layer = new TentativeLayer();
    layer.offer([tent(color(1, "a", "#ff0000"), "x"), tent({ i: 2, k: "del", ids: ["b", "c"] }, "x")]);
    expect(layer.mayTouchAny(new Set(["a"]))).toBe(true);
    expect(layer.mayTouchAny(new Set(["c"]))).toBe(true);
    expect(layer.mayTouchAny(new Set(["d"]))).toBe(false);
  });
});
