import { decode as mpDecode, encode as mpEncode } from "@msgpack/msgpack";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  addEntry,
  appEntry,
  CompactError,
  decodeUpAdd,
  encodeDefs,
  encodeDownOps,
  packPoints,
  styleName,
  UP_ADD,
  UP_NEXT,
  UP_APP,
  v1Entry,
} from "./compact";
import { applyOp, cloneState, stateSnapshot } from "./ops";
import { Outbox } from "./outbox";
import type { PendingOps } from "./pending";
import type { HelloMessage, LogEntry, Op } from "./protocol";
import { DEFAULT_LIMITS, encodeServer } from "./protocol";
import { SyncClient, type Frame } from "./sync";
import { MemoryStore, rect, ServerReader, STYLE, stroke } from "./testing";

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
  /** Every op sent, as the server reads it (UP_APP and UP_ADD frames included). */
  const sent: Op[] = [];
  /** The server's reader of each connection, the latest last. */
  const readers: ServerReader[] = [];
  const events = { change: vi.fn(), message: vi.fn(), session: vi.fn() };
  const client = new SyncClient(new Outbox(store, "b", "me"), events);
  const attach = () => {
    const server = new ServerReader();
    readers.push(server);
    client.attach((f) => {
      frames.push(f);
      if (typeof f !== "string") sent.push(...server.read(f));
    });
  };
  const connect = () => {
    attach();
    client.handle(hello());
    client.handle({ type: "synced", seq: client.applied });
  };
  const sentOps = () => sent;
  const texts = () => frames.filter((f): f is string => typeof f === "string").map((f) => JSON.parse(f));
  /**
   * The kind of each binary frame sent: "up" for UP_APP, "next" for UP_NEXT, "up-add" for
   * UP_ADD, else the v1 ops' kinds.
   */
  const shapes = () =>
    frames
      .filter((f): f is Uint8Array => typeof f !== "string")
      .map((f) =>
        f[0] === UP_APP
          ? "up"
          : f[0] === UP_NEXT
            ? "next"
            : f[0] === UP_ADD
              ? "up-add"
              : (mpDecode(f) as { ops: Op[] }).ops.map((o) => o.k).join(","),
      );
  /** The style text of each UP_ADD frame sent ("" for "the previous one"). */
  const upAddStyles = () =>
    frames
      .filter((f): f is Uint8Array => typeof f !== "string" && f[0] === UP_ADD)
      .map((f) => {
        const style = decodeUpAdd(f, DEFAULT_LIMITS.max_points_per_op).style;
        return style === null ? "" : styleName(style);
      });
  return { client, frames, events, attach, connect, sentOps, texts, shapes, upAddStyles, readers, store };
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
    expect(stateSnapshot(client.view())).toEqual(stateSnapshot(client.confirmed));
    expect(client.confirmed.elements.get("s")?.p).toEqual([0, 0, 1, 1]);
  });

  it("keeps one view while a stroke grows and the log confirms it, and says what changed in place", async () => {
    const { client, connect } = setup();
    connect();
    client.handle({ t: "ops", ops: [entry({ i: 1, k: "add", el: rect("r") }, 1, "other")] });
    const [add] = client.submit([{ k: "add", el: stroke("s") }]);
    const view = client.view();
    const v0 = client.version;
    const [app] = client.submit([{ k: "app", id: "s", p: [1, 1] }]);
    expect(client.view()).toBe(view);
    expect(client.touchedSince(v0)).toEqual(["s"]);
    expect(client.view().elements.get("s")?.p).toEqual([0, 0, 1, 1]);
    client.handle({ t: "ack", a: [[add.i, 2]] });
    client.handle({ t: "ops", ops: [entry(add, 2), entry(app, 3)] });
    expect(client.view()).toBe(view);
    expect(client.view().seq).toBe(3);
    const v1 = client.version;
    client.submit([{ k: "app", id: "s", p: [2, 2] }]);
    expect(client.view()).toBe(view);
    expect(client.touchedSince(v1)).toEqual(["s"]);
    expect(client.touchedSince(v0)).toEqual(["s", "s"]);
    // Someone else's op changes the view wholesale: no in-place account of it.
    client.handle({ t: "ops", ops: [entry({ i: 2, k: "add", el: rect("t") }, 4, "other")] });
    expect(client.touchedSince(v1)).toBeNull();
    expect([...client.view().elements.keys()]).toEqual(["r", "s", "t"]);
    expect(client.view().elements.get("s")?.p).toEqual([0, 0, 1, 1, 2, 2]);
  });

  it("shows confirmed plus pending ops after any mix of own, acked, echoed and others' ops", async () => {
    // A reference rebuild (confirmed, then pending in i order) after every step, against the
    // view that is kept and changed in place where it can be.
    const rebuilt = (client: SyncClient) => {
      const internals = client as unknown as { pending: PendingOps };
      const state = cloneState(client.confirmed);
      for (const op of internals.pending.inOrder()) applyOp(state, op);
      return stateSnapshot(state);
    };
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let round = 0; round < 20; round++) {
      const { client, connect } = setup();
      connect();
      const unechoed: Op[] = [];
      let s = 0;
      let strokes = 0;
      let theirs = 0;
      for (let step = 0; step < 60; step++) {
        const roll = rand(20) / 2;
        const ids = [...client.view().elements.keys()];
        if (roll < 2) unechoed.push(...client.submit([{ k: "add", el: stroke(`s${strokes++}`, rand(50), rand(50)) }]));
        else if (roll < 5 && ids.length > 0) unechoed.push(...client.submit([{ k: "app", id: ids[rand(ids.length)], p: [rand(9), rand(9)] }]));
        else if (roll < 6 && ids.length > 0) unechoed.push(...client.submit([{ k: "del", ids: [ids[rand(ids.length)]] }]));
        else if (roll < 8 && unechoed.length > 0) {
          const n = 1 + rand(unechoed.length);
          client.handle({ t: "ops", ops: unechoed.splice(0, n).map((op) => entry(op, ++s)) });
        } else if (roll < 8.5 && unechoed.length > 1) {
          // The oldest was refused (its error is still on the way): a later own op comes first.
          client.handle({ t: "ops", ops: unechoed.splice(1, 1).map((op) => entry(op, ++s)) });
        } else if (roll < 9) {
          const op: Op = ids.length > 0 && rand(2) ? { i: ++theirs, k: "app", id: ids[rand(ids.length)], p: [1, 2] } : { i: ++theirs, k: "add", el: rect(`r${theirs}`) };
          client.handle({ t: "ops", ops: [entry(op, ++s, "other")] });
        } else if (unechoed.length > 0) {
          client.handle({ t: "ack", a: [[unechoed[0].i, s + 1]] });
        }
        expect(stateSnapshot(client.view())).toEqual(rebuilt(client));
      }
      await flush();
    }
  });

  it("sends a stroke too long for one op (an undone delete) as an add and appends that each fit a frame", async () => {
    const { client, connect, sentOps } = setup();
    connect();
    const p = Array.from({ length: 2 * 3000 }, (_, k) => (k % 5) - 2);
    client.submit([{ k: "add", el: stroke("long", 0, 0, p) }]);
    await flush();
    expect(sentOps().map((o) => [o.i, o.k])).toEqual([[1, "add"], [2, "app"], [3, "app"]]);
    expect(client.view().elements.get("long")?.p).toEqual(p);
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
    second.attach();
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

describe("SyncClient on protocol v2", () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] }));
  afterEach(() => vi.useRealTimers());

  it("sends appends to the current stroke as UP_NEXT or UP_APP frames, in order with the other ops", async () => {
    const { client, connect, sentOps, shapes } = setup();
    connect();
    const submitted = client.submit([
      { k: "add", el: stroke("s") },
      { k: "app", id: "s", p: [1, 1] },
      { k: "app", id: "s", p: [2, 2], pr: [40] },
      { k: "add", el: rect("r") }, // not a stroke: s stays current
      { k: "app", id: "s", p: [3, 3] },
      { k: "mov", ids: ["r"], dx: 1, dy: 1 },
      { k: "app", id: "t", p: [1, 0] }, // another stroke: sent v1, becomes current
      { k: "app", id: "t", p: [1, 0] },
      { k: "app", id: "s", p: [4, 4] },
    ]);
    await flush();
    // UP_NEXT when the op follows the one before it on the connection and has no pressure.
    expect(shapes()).toEqual(["up-add", "next", "up", "add", "next", "mov,app", "next", "app"]);
    expect(sentOps()).toEqual(submitted);
    // Later flushes continue from the connection's current stroke (s, from the last v1 app).
    client.submit([{ k: "app", id: "s", p: [5, 5] }]);
    await flush();
    expect(shapes().at(-1)).toBe("next");
    expect(sentOps().at(-1)).toEqual({ i: 10, k: "app", id: "s", p: [5, 5] });
  });

  it("forgets the current stroke on reconnect, so the first append goes v1 again", async () => {
    const { client, connect, sentOps, shapes } = setup();
    connect();
    client.submit([{ k: "add", el: stroke("s") }, { k: "app", id: "s", p: [1, 1] }]);
    await flush();
    client.handle({ t: "ack", a: [[1, 1]] });
    client.detach();
    connect(); // resends op 2 only
    client.submit([{ k: "app", id: "s", p: [2, 2] }]);
    await flush();
    expect(shapes()).toEqual(["up-add", "next", "app", "next"]);
    expect(sentOps().map((o) => o.i)).toEqual([1, 2, 2, 3]);
  });

  it("sends appends the server would refuse as v1, where the refusal names them", async () => {
    const { client, connect, shapes } = setup();
    connect();
    const many = Array.from({ length: 2 * (DEFAULT_LIMITS.max_points_per_op + 1) }, () => 1);
    client.submit([
      { k: "add", el: stroke("s") },
      { k: "app", id: "s", p: many },
      { k: "app", id: "s", p: [1, 1], pr: [1, 2] },
      { k: "app", id: "s", p: [0.5, 1] },
    ]);
    await flush();
    expect(shapes()).toEqual(["up-add", "app,app,app"]);
  });

  it("resends a rate-limited append as UP_APP: its id does not follow the last op sent", async () => {
    const { client, connect, shapes } = setup();
    connect();
    client.submit([{ k: "add", el: stroke("s") }, { k: "app", id: "s", p: [1, 1] }]);
    await flush();
    client.handle({ type: "error", code: "rate_limited", message: "slow down", ids: [2] });
    vi.advanceTimersByTime(1000);
    expect(shapes()).toEqual(["up-add", "next", "up"]);
  });

  it("sends a stroke as UP_ADD then UP_APPs, and repeats the previous UP_ADD's style as \"\"", async () => {
    const { client, connect, sentOps, shapes, upAddStyles, readers } = setup();
    connect();
    const other = { color: "#ff0000", width: 12.5, opacity: 0.35, fill: null };
    const submitted = client.submit([
      { k: "add", el: { ...stroke("s", 120, 80, [0, 0, 3, 1]), pr: [40, 44] } },
      { k: "app", id: "s", p: [4, 2, 5, 2, 5, 3], pr: [48, 50, 51] },
      { k: "app", id: "s", p: [1, 1], pr: [52] },
      // Same style, another object with another key order: deep-equal, so "".
      { k: "add", el: { ...stroke("t", -5, -7), style: { fill: null, opacity: 1, width: 4, color: "#1e1e1e" } } },
      { k: "app", id: "t", p: [1, 0] },
      { k: "add", el: { ...stroke("u"), style: other } },
    ]);
    await flush();
    // A later flush on the same connection still remembers the last UP_ADD's style.
    submitted.push(...client.submit([{ k: "add", el: { ...stroke("v"), style: { ...other } } }]));
    await flush();
    submitted.push(...client.submit([{ k: "add", el: stroke("w") }, { k: "app", id: "w", p: [2, 2] }]));
    await flush();
    expect(shapes()).toEqual(["up-add", "up", "up", "up-add", "next", "up-add", "up-add", "up-add", "next"]);
    expect(upAddStyles()).toEqual([styleName(STYLE), "", styleName(other), "", styleName(STYLE)]);
    expect(readers[0].repeatedStyles).toEqual([false, true, false, true, false]);
    // The server reads back exactly the ops submitted (ids, coordinates, styles, pressure).
    expect(sentOps()).toEqual(submitted);
    expect(styleName(STYLE)).toBe('{"color":"#1e1e1e","fill":null,"opacity":1,"width":4}');
  });

  it("forgets the last UP_ADD's style on reconnect", async () => {
    const { client, connect, shapes, upAddStyles, sentOps } = setup();
    connect();
    client.submit([{ k: "add", el: stroke("s") }, { k: "add", el: stroke("t") }]);
    await flush();
    client.handle({ t: "ack", a: [[1, 1]] });
    client.detach();
    connect(); // resends op 2: the first UP_ADD of this connection, so its style is explicit
    client.submit([{ k: "add", el: stroke("u") }, { k: "app", id: "u", p: [1, 1] }]);
    await flush();
    expect(shapes()).toEqual(["up-add", "up-add", "up-add", "up-add", "next"]);
    expect(upAddStyles()).toEqual([styleName(STYLE), "", styleName(STYLE), ""]);
    expect(sentOps().map((o) => o.i)).toEqual([1, 2, 2, 3, 4]);
  });

  it("sends other adds v1; a stroke add sent v1 still becomes the current stroke", async () => {
    const WIDE = { ...STYLE, width: 8 };
    const { client, connect, shapes, sentOps, upAddStyles } = setup();
    connect();
    const many = Array.from({ length: 2 * (DEFAULT_LIMITS.max_points_per_op + 1) }, () => 1);
    const submitted = client.submit([
      { k: "add", el: rect("r") },
      { k: "add", el: { ...stroke("big"), p: many, style: WIDE } }, // too many points for one op: add + app
      { k: "app", id: "big", p: [1, 1] },
      { k: "add", el: { ...stroke("extra"), w: 5 } }, // a key UP_ADD cannot carry
      { k: "app", id: "extra", p: [1, 1] }, // on the stroke the v1 add made current
      { k: "add", el: { id: "nop", type: "stroke", x: 0, y: 0, style: { ...STYLE } } }, // no points
      { k: "add", el: { ...stroke("nopr"), p: [0, 0, 1, 1], pr: [1] } }, // pressure does not match
      { k: "add", el: { ...stroke("frac"), x: 0.5 } },
      { k: "add", el: { ...stroke("nan"), style: { ...STYLE, width: NaN } } }, // style is not JSON
      { k: "add", el: stroke("ok") },
      { k: "app", id: "ok", p: [1, 1] },
    ]);
    await flush();
    expect(shapes()).toEqual(["add", "up-add", "next", "next", "add", "next", "add,add,add,add", "up-add", "next"]);
    // None of the v1 adds (all in STYLE) counts as "the previous UP_ADD": "ok" names its style.
    expect(upAddStyles()).toEqual([styleName(WIDE), styleName(STYLE)]);
    expect(sentOps().map((o) => o.i)).toEqual(submitted.map((o) => o.i));
  });

  it("resends a rate-limited UP_ADD as UP_ADD, its style by the connection's memory", async () => {
    const { client, connect, shapes, upAddStyles, sentOps } = setup();
    connect();
    const submitted = client.submit([{ k: "add", el: stroke("s") }, { k: "app", id: "s", p: [1, 1] }]);
    await flush();
    client.handle({ type: "error", code: "rate_limited", message: "slow down", ids: [1, 2] });
    vi.advanceTimersByTime(1000);
    expect(shapes()).toEqual(["up-add", "next", "up-add", "next"]);
    expect(upAddStyles()).toEqual([styleName(STYLE), ""]);
    expect(sentOps()).toEqual([...submitted, ...submitted]);
  });

  it("resends every unacked op with its id after an error that names none (a frame refused whole)", async () => {
    const { client, connect, shapes, sentOps } = setup();
    connect();
    const submitted = client.submit([
      { k: "add", el: stroke("s") },
      { k: "app", id: "s", p: [1, 1] },
      { k: "app", id: "s", p: [2, 2] },
    ]);
    await flush();
    client.handle({ t: "ack", a: [[1, 1]] });
    client.handle({ type: "error", code: "bad_frame", message: "bad compact frame" });
    vi.advanceTimersByTime(1000);
    // The server's count of this connection's op ids is unknown now: the first resend names its
    // id (UP_APP), the next follows it.
    expect(shapes()).toEqual(["up-add", "next", "next", "up", "next"]);
    expect(sentOps()).toEqual([...submitted, ...submitted.slice(1)]);
  });

  it("resends every unacked op after `too_large`, which names the ops of the frame refused whole", async () => {
    const { client, connect, shapes, sentOps } = setup();
    connect();
    const submitted = client.submit([
      { k: "add", el: stroke("s") },
      { k: "app", id: "s", p: [1, 1] },
      { k: "app", id: "s", p: [2, 2] },
    ]);
    await flush();
    client.handle({ t: "ack", a: [[1, 1]] });
    client.handle({ type: "error", code: "too_large", message: "frame of 300000 bytes is too large", ids: [3] });
    vi.advanceTimersByTime(1000);
    expect(shapes()).toEqual(["up-add", "next", "next", "up", "next"]);
    expect(sentOps()).toEqual([...submitted, ...submitted.slice(1)]);
  });

  it("handles tag-2 (stroke add) entries like v1 add entries: own ones ack, others apply", async () => {
    const { client, connect } = setup();
    connect();
    const [add, app] = client.submit([
      { k: "add", el: { ...stroke("s", 120, 80, [0, 0, 3, 1]), pr: [40, 44] } },
      { k: "app", id: "s", p: [4, 2], pr: [48] },
    ]);
    await flush();
    const other = { color: "#ff0000", fill: null, opacity: 0.35, width: 12.5 };
    client.receive(
      encodeDownOps(
        1,
        [[0, "me"], [1, "s"], [2, styleName(STYLE)]],
        [addEntry(0, add.i, 1, 120, 80, 2, packPoints([0, 0, 3, 1], [40, 44])), appEntry(0, app.i, 1, packPoints([4, 2], [48]))],
      ),
    );
    expect(client.applied).toBe(2);
    expect(client.outbox.size).toBe(0);
    expect(client.view()).toBe(client.confirmed);
    expect(client.confirmed.elements.get("s")).toEqual({ ...stroke("s", 120, 80, [0, 0, 3, 1, 4, 2]), pr: [40, 44, 48] });
    // Someone else's strokes: a new style named by a DEFS frame, then one already known.
    client.receive(encodeDefs([[3, "other"], [4, "t"], [5, styleName(other)], [6, "u"]]));
    client.receive(
      encodeDownOps(3, [], [addEntry(3, 7, 4, -10, -20, 5, packPoints([0, 0])), addEntry(3, 8, 6, 3, 4, 2, packPoints([0, 0, -9, 9]))]),
    );
    expect(client.applied).toBe(4);
    expect(client.confirmed.elements.get("t")).toEqual({ id: "t", type: "stroke", x: -10, y: -20, style: other, p: [0, 0] });
    expect(client.confirmed.elements.get("u")).toEqual(stroke("u", 3, 4, [0, 0, -9, 9]));
    expect([...client.confirmed.elements.keys()]).toEqual(["s", "t", "u"]);
    // A style handle that names no JSON object: malformed, nothing applied.
    client.receive(encodeDefs([[7, "[1]"]]));
    expect(() => client.receive(encodeDownOps(5, [], [addEntry(3, 9, 4, 0, 0, 7, packPoints([0, 0]))]))).toThrow(CompactError);
    expect(client.applied).toBe(4);
  });

  it("handles DOWN_OPS like v1 ops frames: own entries ack, others apply, gaps wait", async () => {
    const { client, connect, texts } = setup();
    connect();
    const [add, app] = client.submit([{ k: "add", el: stroke("s") }, { k: "app", id: "s", p: [1, 1] }]);
    await flush();
    // Our two ops, the add as a v1 entry, the append compact, names defined inline.
    client.receive(
      encodeDownOps(1, [[0, "me"], [1, "s"]], [v1Entry(mpEncode(entry(add, 1))), appEntry(0, app.i, 1, packPoints([1, 1]))]),
    );
    expect(client.applied).toBe(2);
    expect(client.outbox.size).toBe(0);
    expect(client.view()).toBe(client.confirmed);
    // Someone else's append, named by a DEFS frame; then a frame that arrives early waits.
    client.receive(encodeDefs([[2, "other"]]));
    client.receive(encodeDownOps(4, [], [appEntry(2, 8, 1, packPoints([1, 0], [50]))]));
    expect(client.applied).toBe(2);
    client.receive(encodeDownOps(3, [], [appEntry(2, 7, 1, packPoints([0, 1], [50]))]));
    expect(client.applied).toBe(4);
    expect(client.confirmed.elements.get("s")?.p).toEqual([0, 0, 1, 1, 0, 1, 1, 0]);
    // v1 frames still work on a v2 connection (catch-up uses them).
    client.receive(encodeServer({ t: "ops", ops: [entry({ i: 9, k: "del", ids: ["s"] }, 5, "other")] }) as Uint8Array);
    expect(client.confirmed.elements.size).toBe(0);
    // A hole that does not fill: resync, as for v1.
    client.receive(encodeDownOps(7, [], [v1Entry(mpEncode(entry({ i: 10, k: "clr" }, 7, "other")))]));
    vi.advanceTimersByTime(100);
    expect(texts()).toContainEqual({ type: "resync", from: 5 });
  });

  it("keeps handles per connection", () => {
    const { client, connect } = setup();
    connect();
    client.handle({ t: "ops", ops: [entry({ i: 1, k: "add", el: stroke("s") }, 1, "other")] });
    client.receive(encodeDefs([[0, "other"], [1, "s"]]));
    client.detach();
    connect();
    expect(() => client.receive(encodeDownOps(2, [], [appEntry(0, 2, 1, packPoints([1, 1]))]))).toThrow(CompactError);
    expect(client.applied).toBe(1);
  });
});
