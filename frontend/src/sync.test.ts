import { decode as mpDecode } from "@msgpack/msgpack";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Outbox } from "./outbox";
import type { HelloMessage, LogEntry, Op } from "./protocol";
import { DEFAULT_LIMITS } from "./protocol";
import { SyncClient, type Frame } from "./sync";
import { MemoryStore, rect, stroke } from "./testing";

const hello = (role: HelloMessage["role"] = "editor"): HelloMessage => ({
  type: "hello",
  v: 1,
  client_id: "me",
  role,
  user: { id: 1, name: "ann" },
  board: { id: "b", title: "B", link_access: "none" },
  head_seq: 0,
  limits: { ...DEFAULT_LIMITS, gap_wait_ms: 100 },
  presence: [],
});

function setup(store = new MemoryStore()) {
  const frames: Frame[] = [];
  const events = { change: vi.fn(), message: vi.fn(), session: vi.fn() };
  const client = new SyncClient(new Outbox(store, "b", "me"), events);
  const connect = () => {
    client.attach((f) => frames.push(f));
    client.handle(hello());
    client.handle({ type: "synced", seq: client.applied });
  };
  const sentOps = () =>
    frames.filter((f) => typeof f !== "string").flatMap((f) => (mpDecode(f as Uint8Array) as { ops: Op[] }).ops);
  const texts = () => frames.filter((f): f is string => typeof f === "string").map((f) => JSON.parse(f));
  return { client, frames, events, connect, sentOps, texts, store };
}

const entry = (op: Op, s: number, c = "me"): LogEntry => ({ ...op, s, c, u: 1 }) as LogEntry;
const flush = () => new Promise<void>((r) => queueMicrotask(r));

describe("SyncClient", () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] }));
  afterEach(() => vi.useRealTimers());

  it("renders local ops at once and keeps them until the log confirms them", async () => {
    const { client, connect, sentOps } = setup();
    connect();
    const [add] = client.submit([{ k: "add", el: stroke("s") }]);
    client.submit([{ k: "app", id: "s", p: [1, 1] }]);
    await flush();
    expect(sentOps().map((o) => o.i)).toEqual([1, 2]);
    expect(client.view().elements.get("s")?.p).toEqual([0, 0, 1, 1]);
    expect(client.confirmed.elements.size).toBe(0);
    // Ack before the ops frame: still rendered (no flicker), outbox cleared.
    client.handle({ t: "ack", a: [[1, 1], [2, 2]] });
    expect(client.outbox.size).toBe(0);
    expect(client.view().elements.get("s")?.p).toEqual([0, 0, 1, 1]);
    client.handle({ t: "ops", ops: [entry(add, 1), entry({ i: 2, k: "app", id: "s", p: [1, 1] }, 2)] });
    expect(client.applied).toBe(2);
    expect(client.view()).toBe(client.confirmed);
    expect(client.confirmed.elements.get("s")?.p).toEqual([0, 0, 1, 1]);
  });

  it("rebases pending ops over remote ones", async () => {
    const { client, connect } = setup();
    connect();
    client.submit([{ k: "add", el: rect("mine") }]);
    client.handle({ t: "ops", ops: [entry({ i: 9, k: "add", el: rect("theirs") }, 1, "other")] });
    expect([...client.view().elements.keys()]).toEqual(["theirs", "mine"]);
  });

  it("sends nothing before synced, then resends the outbox in i order after a reload", async () => {
    const store = new MemoryStore();
    const first = setup(store);
    first.client.submit([{ k: "add", el: rect("a") }, { k: "add", el: rect("b") }]);
    first.client.submit([{ k: "del", ids: ["a"] }]);
    await flush();
    expect(first.frames).toEqual([]);
    // Page reload: a new client on the same storage sees the pending ops and resends them.
    const second = setup(store);
    expect([...second.client.view().elements.keys()]).toEqual(["b"]);
    second.client.attach((f) => second.frames.push(f));
    second.client.handle(hello());
    expect(second.frames).toEqual([]);
    second.client.handle({ type: "synced", seq: 0 });
    expect(second.sentOps().map((o) => o.i)).toEqual([1, 2, 3]);
    // A new connection resends whatever is still unacked, once per connection.
    second.client.handle({ t: "ack", a: [[1, 1]] });
    second.client.detach();
    second.connect();
    expect(second.sentOps().map((o) => o.i)).toEqual([1, 2, 3, 2, 3]);
  });

  it("drops rejected ops and resyncs from the applied seq", async () => {
    const { client, connect, texts } = setup();
    connect();
    client.handle({ t: "ops", ops: [entry({ i: 1, k: "add", el: rect("x") }, 1, "other")] });
    client.submit([{ k: "app", id: "ghost", p: [1, 1] }, { k: "add", el: rect("ok") }]);
    client.handle({ type: "error", code: "invalid_op", message: "no such element", ids: [1] });
    expect(client.outbox.list().map((o) => o.i)).toEqual([2]);
    expect(texts()).toContainEqual({ type: "resync", from: 1 });
  });

  it("turns read-only on read_only errors and refuses further local ops", () => {
    const { client, connect } = setup();
    connect();
    client.submit([{ k: "add", el: rect("a") }]);
    client.handle({ type: "error", code: "read_only", message: "viewer", ids: [1] });
    expect(client.readOnly).toBe(true);
    expect(client.outbox.size).toBe(0);
    expect(client.submit([{ k: "add", el: rect("b") }])).toEqual([]);
    expect(client.view().elements.size).toBe(0);
  });

  it("resends rate-limited ops later", async () => {
    const { client, connect, sentOps } = setup();
    connect();
    client.submit([{ k: "add", el: rect("a") }]);
    await flush();
    client.handle({ type: "error", code: "rate_limited", message: "slow down", ids: [1] });
    expect(sentOps().length).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(sentOps().map((o) => o.i)).toEqual([1, 1]);
  });

  it("holds a gap, resyncs after gap_wait_ms, and a snapshot replaces state", () => {
    const { client, connect, texts } = setup();
    connect();
    client.handle({ t: "ops", ops: [entry({ i: 1, k: "add", el: rect("a") }, 1, "o")] });
    client.handle({ t: "ops", ops: [entry({ i: 3, k: "add", el: rect("c") }, 3, "o")] });
    expect(client.applied).toBe(1);
    vi.advanceTimersByTime(100);
    expect(texts()).toContainEqual({ type: "resync", from: 1 });
    client.handle({ t: "snap", s: 2, els: [rect("a"), rect("b")] });
    expect(client.applied).toBe(3);
    expect([...client.confirmed.elements.keys()]).toEqual(["a", "b", "c"]);
  });

  it("splits the outbox into frames within max_ops_per_frame", async () => {
    const { client, connect, frames } = setup();
    client.submit(Array.from({ length: 600 }, (_, n) => ({ k: "add" as const, el: rect(`e${n}`) })));
    connect();
    const sizes = frames.filter((f) => typeof f !== "string").map((f) => (mpDecode(f as Uint8Array) as { ops: Op[] }).ops.length);
    expect(sizes).toEqual([256, 256, 88]);
  });
});
