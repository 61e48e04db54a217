import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { isRegistered, Outbox } from "./outbox";
import type { HelloMessage, LogEntry, Op } from "./protocol";
import { DEFAULT_LIMITS } from "./protocol";
import { SyncClient, type Frame } from "./sync";
import { MemoryStore, rect, ServerReader } from "./testing";

const hello = (userId: number | null, clientId: string): HelloMessage => ({
  type: "hello",
  v: 1,
  client_id: clientId,
  role: "editor",
  user: { id: userId, name: userId === null ? "guest" : "vic" },
  board: { id: "b", title: "B", link_access: "none" },
  head_seq: 0,
  limits: { ...DEFAULT_LIMITS },
  presence: [],
});

const entry = (op: Op, s: number, u: number | null | undefined, c = "victim-id"): LogEntry => {
  const e = { ...op, s, c } as LogEntry;
  if (u !== undefined) e.u = u;
  return e;
};
const flush = () => new Promise<void>((r) => queueMicrotask(r));

/** A writer drawing offline under "victim-id"; `connect` opens a connection and catches up with `catchUp`. */
function offlineWriter(userId: number | null) {
  const store = new MemoryStore();
  const client = new SyncClient(new Outbox(store, "b", "victim-id"), { change: vi.fn(), message: vi.fn(), session: vi.fn() });
  const sent: Op[][] = [];
  const connect = (catchUp: LogEntry[]) => {
    const reader = new ServerReader();
    const mine: Op[] = [];
    sent.push(mine);
    client.attach((f: Frame) => {
      if (typeof f !== "string") mine.push(...reader.read(f));
    });
    client.handle(hello(userId, client.clientId));
    if (catchUp.length) client.handle({ t: "ops", ops: catchUp });
    client.handle({ type: "synced", seq: client.applied });
    return mine;
  };
  return { store, client, sent, connect };
}

describe("entries under our id that are not ours (protocol §1, §2.2)", () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] }));
  afterEach(() => vi.useRealTimers());

  it("another account's entry under our id acks nothing: the op is resent, refused, moved and stored", async () => {
    const w = offlineWriter(1);
    const [mine] = w.client.submit([{ k: "add", el: rect("v1") }]);
    // Mallory (account 2) stored her own op 1 under our id while we were away.
    const squat = entry({ i: 1, k: "add", el: rect("m1") }, 1, 2);
    const first = w.connect([squat]);
    expect(w.client.outbox.has(1)).toBe(true);
    expect(first).toEqual([mine]);
    expect(w.client.confirmed.elements.has("m1")).toBe(true); // her op is on the board all the same
    w.client.handle({ type: "error", code: "client_id_taken", message: "taken", ids: [1] });
    // Nothing more goes out under the taken id, not even what is drawn meanwhile.
    const [later] = w.client.submit([{ k: "add", el: rect("v2") }]);
    await flush();
    expect(first).toEqual([mine]);

    w.client.detach();
    w.client.switchWriter(w.client.outbox.moveTo("fresh-id-01"));
    expect(isRegistered(w.store, "b", "victim-id")).toBe(false);
    const second = w.connect([]);
    expect(second).toEqual([mine, later]);
    w.client.handle({ t: "ops", ops: [entry(mine, 2, 1, "fresh-id-01"), entry(later, 3, 1, "fresh-id-01")] });
    expect(w.client.outbox.size).toBe(0);
    expect([...w.client.view().elements.keys()].sort()).toEqual(["m1", "v1", "v2"]);
  });

  it("a guest counts an entry under its id as its op only for an op sent on this connection", async () => {
    const w = offlineWriter(null);
    const [one] = w.client.submit([{ k: "add", el: rect("v1") }]);
    // In the catch-up, a guest's entry under our id, with our i, may be another guest's.
    const first = w.connect([entry({ i: 1, k: "add", el: rect("g1") }, 1, null)]);
    expect(w.client.outbox.has(1)).toBe(true);
    expect(first).toEqual([one]);
    // Once sent here, its entry acks it (v1 with `u` null, or compact without `u`).
    w.client.handle({ t: "ops", ops: [entry(one, 2, null)] });
    expect(w.client.outbox.size).toBe(0);
    const [two] = w.client.submit([{ k: "add", el: rect("v2") }]);
    await flush();
    w.client.handle({ t: "ops", ops: [entry(two, 3, undefined)] });
    expect(w.client.outbox.size).toBe(0);
  });

  it("our own entry in the catch-up still acks for an account: the server stamps `u`", () => {
    const w = offlineWriter(1);
    const [one] = w.client.submit([{ k: "add", el: rect("v1") }]);
    const first = w.connect([entry(one, 1, 1)]);
    expect(w.client.outbox.size).toBe(0);
    expect(first).toEqual([]);
  });

  it("a guest takes back an op its entry acked when the server then says the id was taken", async () => {
    const w = offlineWriter(null);
    const first = w.connect([]);
    const [one] = w.client.submit([{ k: "add", el: rect("v1") }]);
    await flush();
    expect(first).toEqual([one]);
    // Another guest of the link, on another process, stored its op 1 under our live id first.
    w.client.handle({ t: "ops", ops: [entry({ i: 1, k: "add", el: rect("g1") }, 1, null)] });
    expect(w.client.outbox.size).toBe(0); // looked like ours: sent here, no account to tell
    w.client.handle({ type: "error", code: "client_id_taken", message: "taken", ids: [1] });
    expect(w.client.outbox.list()).toEqual([one]);
    expect([...w.client.view().elements.keys()].sort()).toEqual(["g1", "v1"]);
    w.client.detach();
    w.client.switchWriter(w.client.outbox.moveTo("fresh-id-01"));
    expect(w.connect([])).toEqual([one]);
  });

  it("a guest takes no entry for an ack by guess once told the id was taken", async () => {
    const w = offlineWriter(null);
    w.connect([]);
    const [one] = w.client.submit([{ k: "add", el: rect("v1") }]);
    await flush();
    // The refusal first; the squatter's entry, stored on another process, crosses after it.
    w.client.handle({ type: "error", code: "client_id_taken", message: "taken", ids: [1] });
    w.client.handle({ t: "ops", ops: [entry({ i: 1, k: "add", el: rect("g1") }, 1, null)] });
    expect(w.client.outbox.list()).toEqual([one]);
  });
});
