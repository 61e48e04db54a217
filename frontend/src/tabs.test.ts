import { describe, expect, it, vi } from "vitest";
import { isRegistered, Outbox, registerWriter, writersOf } from "./outbox";
import { DEFAULT_LIMITS, encodeServer, type HelloMessage, type LogEntry, type Op, type ServerMessage } from "./protocol";
import {
  claimClientId,
  deliverOutbox,
  forgetTabId,
  lockName,
  OrphanAdopter,
  ORPHAN_SCAN_MS,
  startOver,
  type ConnectionHandlers,
  type Connect,
} from "./tabs";
import { FakeLocks, MemoryStore, rect, ServerReader, stroke } from "./testing";

/** Ids a test mints, in order, so assertions can name them. */
function minter(prefix = "minted-id-") {
  let n = 0;
  return () => `${prefix}${++n}`;
}

/** One browser profile: localStorage and the lock manager are shared by its tabs. */
function profile() {
  return { local: new MemoryStore(), locks: new FakeLocks(), mint: minter() };
}

type Profile = ReturnType<typeof profile>;

/** A tab loading the board page with `session` (a new tab: empty; a duplicate: a copy). */
function load(p: Profile, session: MemoryStore, opts: { reloaded?: boolean; reloadWaitMs?: number } = {}) {
  return claimClientId({
    boardId: "b",
    local: p.local,
    session,
    locks: p.locks,
    mint: p.mint,
    reloaded: opts.reloaded ?? false,
    reloadWaitMs: opts.reloadWaitMs ?? 50,
  });
}

function copy(store: MemoryStore): MemoryStore {
  const out = new MemoryStore();
  for (const [k, v] of store.data) out.setItem(k, v);
  return out;
}

describe("claimClientId", () => {
  it("gives every new tab its own registered, leased id", async () => {
    const p = profile();
    const one = await load(p, new MemoryStore());
    const two = await load(p, new MemoryStore());
    expect([one.clientId, two.clientId]).toEqual(["minted-id-1", "minted-id-2"]);
    expect(one.leased && two.leased).toBe(true);
    expect(p.locks.holders).toEqual(new Set([lockName("minted-id-1"), lockName("minted-id-2")]));
    expect(writersOf(p.local, "b")).toEqual(new Set(["minted-id-1", "minted-id-2"]));
  });

  it("keeps the id over a reload, also when the replaced page still holds the lock a moment", async () => {
    const p = profile();
    const session = new MemoryStore();
    const first = await load(p, session);
    first.release(); // the page's end
    const page = await load(p, session, { reloaded: true });
    expect(page.clientId).toBe(first.clientId);
    setTimeout(() => page.release(), 10); // the old page goes after the new one asked
    const reloaded = await load(p, session, { reloaded: true, reloadWaitMs: 1000 });
    expect(reloaded.clientId).toBe(first.clientId);
    expect(reloaded.leased).toBe(true);
  });

  it("gives a duplicated tab (a copy of the opener's sessionStorage) an id of its own", async () => {
    const p = profile();
    const session = new MemoryStore();
    const opener = await load(p, session);
    const duplicate = copy(session);
    const dup = await load(p, duplicate);
    expect(dup.clientId).not.toBe(opener.clientId);
    expect(session.getItem("inkroom:v1:tab:b")).toBe(opener.clientId);
    expect(duplicate.getItem("inkroom:v1:tab:b")).toBe(dup.clientId);
    // ... and keeps that one when it is reloaded.
    dup.release();
    expect((await load(p, duplicate, { reloaded: true })).clientId).toBe(dup.clientId);
  });

  it("takes a new id after a reload when the old one stays held or was retired meanwhile", async () => {
    const p = profile();
    const session = new MemoryStore();
    const first = await load(p, session);
    // Held past the wait (another live tab owns it after all): a new id.
    const held = await load(p, session, { reloaded: true, reloadWaitMs: 20 });
    expect(held.clientId).not.toBe(first.clientId);

    const other = new MemoryStore();
    const tab = await load(p, other);
    // A tab adopts its outbox while the reload waits, retires the id, then lets go.
    setTimeout(() => {
      new Outbox(p.local, "b", tab.clientId).retire();
      tab.release();
    }, 10);
    const after = await load(p, other, { reloaded: true, reloadWaitMs: 1000 });
    expect(after.clientId).not.toBe(tab.clientId);
    expect(isRegistered(p.local, "b", after.clientId)).toBe(true);
  });

  it("never reuses a retired id, and drops the per-profile id of earlier versions", async () => {
    const p = profile();
    p.local.setItem("inkroom:v1:client:b", "legacy-shared-id");
    const session = new MemoryStore();
    session.setItem("inkroom:v1:tab:b", "retired-tab-id"); // no counter: retired
    const tab = await load(p, session);
    expect(tab.clientId).toBe("minted-id-1");
    expect(p.local.getItem("inkroom:v1:client:b")).toBeNull();
  });

  it("without Web Locks still keeps one id per tab over reloads, unleased", async () => {
    const p = profile();
    const session = new MemoryStore();
    const claim = (s: MemoryStore) =>
      claimClientId({ boardId: "b", local: p.local, session: s, locks: null, mint: p.mint, reloaded: true });
    const one = await claim(session);
    expect(one.leased).toBe(false);
    expect((await claim(session)).clientId).toBe(one.clientId);
    expect((await claim(new MemoryStore())).clientId).not.toBe(one.clientId);
  });

  it("takes a fresh id on the reload after the server closed the tab 4010 (its id is held elsewhere)", async () => {
    const p = profile();
    const session = new MemoryStore();
    const claim = (s: MemoryStore) =>
      claimClientId({ boardId: "b", local: p.local, session: s, locks: null, mint: p.mint, reloaded: true });
    const opener = await claim(session);
    const duplicate = copy(session); // without Web Locks a copied tab shares the id
    expect((await claim(duplicate)).clientId).toBe(opener.clientId);
    forgetTabId(session, "b");
    const reloaded = await claim(session);
    expect(reloaded.clientId).not.toBe(opener.clientId);
    expect(isRegistered(p.local, "b", opener.clientId)).toBe(true); // its outbox stays with the id
  });
});

/** A closed tab's leftovers: ops 1-2 sent and stored (ack lost), op 3 never sent. */
function leaveOutbox(local: MemoryStore, clientId: string): Op[] {
  registerWriter(local, "b", clientId);
  const ob = new Outbox(local, "b", clientId);
  const ops: Op[] = [
    { i: ob.nextId(), k: "add", el: stroke(`${clientId}-s`) },
    { i: ob.nextId(), k: "app", id: `${clientId}-s`, p: [5, 5] },
    { i: ob.nextId(), k: "add", el: rect(`${clientId}-r`) },
  ];
  for (const op of ops) ob.push(op);
  return ops;
}

describe("OrphanAdopter", () => {
  const deliverAll = async (ob: Outbox): Promise<unknown> => ob.list().forEach((op) => ob.remove(op.i));

  function adopter(p: Profile, ownId: string, deliverWith: (ob: Outbox) => Promise<unknown> = deliverAll) {
    const deliver = vi.fn(deliverWith);
    let now = 0;
    const a = new OrphanAdopter({ store: p.local, locks: p.locks, boardId: "b", ownId, deliver, now: () => now });
    return { a, deliver, tick: (ms = ORPHAN_SCAN_MS) => (now += ms) };
  }

  it("delivers a closed tab's outbox on the second scan that finds it free, then retires the id", async () => {
    const p = profile();
    const me = await load(p, new MemoryStore());
    const closing = await load(p, new MemoryStore());
    leaveOutbox(p.local, closing.clientId);
    const { a, deliver } = adopter(p, me.clientId);
    expect(await a.scan()).toEqual([]); // its tab is alive
    closing.release();
    expect(await a.scan()).toEqual([]); // free once: maybe a reload
    expect(deliver).not.toHaveBeenCalled();
    expect(await a.scan()).toEqual([closing.clientId]);
    expect(deliver).toHaveBeenCalledTimes(1);
    expect(deliver.mock.calls[0][0].clientId).toBe(closing.clientId);
    expect(deliver.mock.calls[0][0].list().map((op: Op) => op.i)).toEqual([]);
    expect(writersOf(p.local, "b")).toEqual(new Set([me.clientId]));
    expect(p.locks.holders).toEqual(new Set([lockName(me.clientId)])); // released after
    expect(await a.scan()).toEqual([]);
  });

  it("leaves alone a tab that reloads between two scans", async () => {
    const p = profile();
    const me = await load(p, new MemoryStore());
    const session = new MemoryStore();
    const tab = await load(p, session);
    leaveOutbox(p.local, tab.clientId);
    const { a, deliver } = adopter(p, me.clientId);
    tab.release();
    await a.scan(); // in the gap of its reload
    const back = await load(p, session, { reloaded: true });
    expect(back.clientId).toBe(tab.clientId);
    await a.scan();
    await a.scan();
    expect(deliver).not.toHaveBeenCalled();
    expect(new Outbox(p.local, "b", tab.clientId).size).toBe(3);
  });

  it("lets exactly one of several tabs deliver an orphan", async () => {
    const p = profile();
    const orphan = "closed-tab-id";
    leaveOutbox(p.local, orphan);
    const deliveries: string[] = [];
    const tabs = await Promise.all([0, 1, 2].map(() => load(p, new MemoryStore())));
    const adopters = tabs.map((t) =>
      adopter(p, t.clientId, async (ob) => {
        deliveries.push(t.clientId);
        await new Promise((r) => setTimeout(r, 5)); // the other tabs scan meanwhile
        return deliverAll(ob);
      }),
    );
    for (let round = 0; round < 3; round++) await Promise.all(adopters.map(({ a }) => a.scan()));
    expect(deliveries).toHaveLength(1);
    expect(writersOf(p.local, "b")).toEqual(new Set(tabs.map((t) => t.clientId)));
  });

  it("retires an empty orphan without a connection, and never its own id", async () => {
    const p = profile();
    const me = await load(p, new MemoryStore());
    registerWriter(p.local, "b", "empty-closed-tab");
    me.release(); // even with its own lock free
    const { a, deliver } = adopter(p, me.clientId);
    await a.scan();
    expect(await a.scan()).toEqual(["empty-closed-tab"]);
    expect(deliver).not.toHaveBeenCalled();
    expect(isRegistered(p.local, "b", me.clientId)).toBe(true);
  });

  it("keeps an outbox that failed to go out and retries it later, backing off", async () => {
    const p = profile();
    const me = await load(p, new MemoryStore());
    leaveOutbox(p.local, "closed-tab-id");
    const { a, deliver, tick } = adopter(p, me.clientId, async () => false);
    await a.scan();
    await a.scan();
    expect(deliver).toHaveBeenCalledTimes(1);
    expect(new Outbox(p.local, "b", "closed-tab-id").size).toBe(3);
    expect(p.locks.holders.has(lockName("closed-tab-id"))).toBe(false);
    tick();
    await a.scan();
    expect(deliver).toHaveBeenCalledTimes(1); // backing off
    tick(4 * ORPHAN_SCAN_MS);
    await a.scan();
    expect(deliver).toHaveBeenCalledTimes(2);
  });
});

const frame = (msg: ServerMessage): ArrayBuffer | string => {
  const data = encodeServer(msg);
  return typeof data === "string" ? data : data.slice().buffer;
};

const hello = (clientId: string): HelloMessage => ({
  type: "hello",
  v: 2,
  client_id: clientId,
  role: "editor",
  user: { id: 1, name: "ann" },
  board: { id: "b", title: "B", link_access: "none" },
  head_seq: 7,
  limits: { ...DEFAULT_LIMITS },
  presence: [],
});

/** A fake server end for deliverOutbox: records the URL, reads the ops sent. */
function fakeConnections() {
  const conns: { url: string; h: ConnectionHandlers; ops: Op[]; closed: boolean }[] = [];
  const connect: Connect = (url, h) => {
    const conn = { url, h, ops: [] as Op[], closed: false };
    conns.push(conn);
    return { close: () => (conn.closed = true) };
  };
  const accept = (n: number) => {
    const conn = conns[n];
    const reader = new ServerReader();
    conn.h.open((f) => {
      if (typeof f !== "string") conn.ops.push(...reader.read(f));
    });
    return conn;
  };
  return { conns, connect, accept };
}

describe("deliverOutbox", () => {
  it("resends the outbox after synced, under its own id, and resolves once all are acked", async () => {
    const local = new MemoryStore();
    const ops = leaveOutbox(local, "closed-tab-id");
    const server = fakeConnections();
    const done = deliverOutbox(new Outbox(local, "b", "closed-tab-id"), {
      url: "ws://h/ws/boards/b/?client_id=closed-tab-id&since=7",
      since: 7,
      connect: server.connect,
    });
    const conn = server.accept(0);
    conn.h.frame(frame(hello("closed-tab-id")));
    expect(conn.ops).toEqual([]);
    conn.h.frame(frame({ type: "synced", seq: 7 }));
    expect(conn.ops).toEqual(ops);
    // Ops 1-2 were stored before the tab closed: acked as resends; op 3 lands in the log.
    conn.h.frame(frame({ t: "ack", a: [[1, 3], [2, 4]] }));
    expect(conn.closed).toBe(false);
    const entry = { ...ops[2], s: 8, c: "closed-tab-id", u: 1 } as LogEntry;
    conn.h.frame(frame({ t: "ops", ops: [entry] }));
    expect(await done).toBe(true);
    expect(conn.closed).toBe(true);
    expect(new Outbox(local, "b", "closed-tab-id").size).toBe(0);
  });

  it("resolves false and keeps what is unacked when the connection ends or times out", async () => {
    const local = new MemoryStore();
    leaveOutbox(local, "closed-tab-id");
    const server = fakeConnections();
    const ended = deliverOutbox(new Outbox(local, "b", "closed-tab-id"), { url: "u", since: 0, connect: server.connect });
    const conn = server.accept(0);
    conn.h.frame(frame(hello("closed-tab-id")));
    conn.h.frame(frame({ type: "synced", seq: 0 }));
    conn.h.frame(frame({ t: "ack", a: [[1, 1]] }));
    conn.h.close();
    expect(await ended).toBe(false);
    expect(new Outbox(local, "b", "closed-tab-id").list().map((op) => op.i)).toEqual([2, 3]);

    const silent = deliverOutbox(new Outbox(local, "b", "closed-tab-id"), { url: "u", since: 0, connect: server.connect, timeoutMs: 20 });
    expect(await silent).toBe(false);
    expect(server.conns[1].closed).toBe(true);
  });
});

describe("client_id_taken (protocol §1: someone else stored under the id while it was away)", () => {
  it("moves a closed tab's outbox to a fresh id, adopted later like any orphan", async () => {
    const local = new MemoryStore();
    const ops = leaveOutbox(local, "closed-tab-id");
    const server = fakeConnections();
    const done = deliverOutbox(new Outbox(local, "b", "closed-tab-id"), {
      url: "u",
      since: 7,
      connect: server.connect,
      mint: () => "fresh-tab-id",
    });
    const conn = server.accept(0);
    conn.h.frame(frame(hello("closed-tab-id")));
    conn.h.frame(frame({ type: "synced", seq: 7 }));
    conn.h.frame(frame({ type: "error", code: "client_id_taken", message: "taken", ids: [1, 2, 3] }));
    expect(await done).toBe(true);
    expect(conn.closed).toBe(true);
    expect(isRegistered(local, "b", "closed-tab-id")).toBe(false);
    expect(new Outbox(local, "b", "fresh-tab-id").list()).toEqual(ops);
    expect(writersOf(local, "b")).toEqual(new Set(["fresh-tab-id"]));
  });

  it("starts a tab over under a fresh leased id that keeps its ops and survives a reload", async () => {
    const p = profile();
    const session = new MemoryStore();
    const me = await load(p, session);
    const old = new Outbox(p.local, "b", me.clientId);
    const [a, b] = [old.nextId(), old.nextId()];
    old.push({ i: a, k: "add", el: rect("a") });
    old.push({ i: b, k: "del", ids: ["a"] });
    const next = await startOver({ boardId: "b", local: p.local, session, locks: p.locks, mint: p.mint, reloaded: false, outbox: old });
    expect(next.clientId).toBe("minted-id-2");
    expect(next.list().map((op) => op.i)).toEqual([1, 2]);
    expect(next.nextId()).toBe(3); // its counter goes on from the old one's
    expect(old.size).toBe(0);
    expect(isRegistered(p.local, "b", me.clientId)).toBe(false);
    expect(p.locks.holders.has(lockName("minted-id-2"))).toBe(true);
    // The old id, retired, is never adopted; a reload keeps the new one.
    expect(writersOf(p.local, "b")).toEqual(new Set(["minted-id-2"]));
    p.locks.holders.delete(lockName("minted-id-2"));
    expect((await load(p, session, { reloaded: true })).clientId).toBe("minted-id-2");
  });
});
