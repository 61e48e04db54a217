/**
 * Seeded convergence fuzz (after tldraw's syncFuzz): several SyncClients against an in-memory
 * server that sequences, de-duplicates, validates and fans out like docs/protocol.md, while the
 * live path drops and reorders frames and sockets disconnect. After healing, every client must
 * hold exactly the server's state with an empty outbox. Failing seeds get pinned in SEEDS.
 *
 * The wire is protocol v2: the server reads UP_ADD frames (a "" style: the connection's previous
 * UP_ADD's) and UP_APP frames against each connection's current stroke, and sends live ops as
 * DOWN_OPS frames (stroke adds as tag 2, appends as tag 1, the rest as tag 0; handles for
 * authors, elements and styles defined inline or by DEFS, recycled from a small pool) or now and
 * then as v1 frames; catch-up is v1.
 */
import { encode as mpEncode } from "@msgpack/msgpack";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { isLabelled } from "./canvas/text-layout";
import {
  addEntry,
  appEntry,
  encodeDefs,
  encodeDownOps,
  packPoints,
  styleName,
  UP_ADD,
  UP_APP,
  v1Entry,
  type Definition,
} from "./compact";
import { BINDABLE_TYPES } from "./bindings";
import { applyOp, cloneState, emptyState, type BoardState } from "./ops";
import { Outbox } from "./outbox";
import {
  DEFAULT_LIMITS,
  decodeClient,
  encodeServer,
  type Binding,
  type Element,
  type LogEntry,
  type Op,
  type StylePatch,
  type ServerMessage,
  type Style,
} from "./protocol";
import { SyncClient, type Frame, type NewOp } from "./sync";
import { MemoryStore, ServerReader, STYLE } from "./testing";

/** mulberry32: small, fast, good enough to drive a fuzz deterministically. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Conn {
  name: string;
  store: MemoryStore;
  client: SyncClient;
  /**
   * Messages the server sent, not yet delivered (a socket delivers in order). They are encoded
   * at delivery, as a socket's sender does: handles are defined in the order frames go out.
   */
  inbox: { msg: ServerMessage; live: boolean }[];
  /** Frames the client sent, not yet processed by the server. */
  outbox: (Uint8Array | string)[];
  connected: boolean;
  /** The server's per-connection v2 state: the current stroke, and handles both ways. */
  reader: ServerReader;
  handles: Map<string, number>;
  names: Map<number, string>;
  nextHandle: number;
}

/** Handles are recycled from a pool this small, so redefinitions happen often. */
const HANDLE_POOL = 6;
/** Stroke styles, picked by serial (not by the scenario's random sequence). */
const STYLES: Style[] = [
  STYLE,
  { color: "#ffd400", width: 12.5, opacity: 0.35, fill: null },
  { color: "#1e1e1e", width: 4, opacity: 1, fill: null },
  { color: "#0055ff", width: 2, opacity: 1, fill: null },
  { color: "#e03131", width: 3, opacity: 1, fill: null, dash: "dot" },
];
/** Restyles (picked by serial): set, change and remove (null) the optional style keys. */
const STYLE_PATCHES: StylePatch[] = [
  { dash: "dash", fs: "hatch", fill: "#ffec99" },
  { dash: null, font: "mono" },
  { color: "#2f9e44", fs: null, opacity: 0.5 },
  { fs: "cross", font: null },
];
/** Box shapes added by the fuzz, by serial. */
const BOX_TYPES = ["rect", "diamond", "note", "frame"] as const;
/** The element keys a tag-2 entry carries (as the server's encoder checks). */
const STROKE_KEYS = new Set(["id", "type", "x", "y", "style", "p", "pr"]);

/** What went over the wire in a run: each frame kind and entry tag must show up. */
interface WireStats {
  upAdd: number;
  upAddRepeat: number;
  upApp: number;
  v1Up: number;
  tag0: number;
  tag1: number;
  tag2: number;
  defs: number;
  /** Structure in the log: `ord` entries, and entries binding an arrow to a rect. */
  ord: number;
  bound: number;
  /** Text edits, and those of an element whose last text edit came from another client. */
  texts: number;
  rivalTexts: number;
}

const newStats = (): WireStats => ({
  upAdd: 0,
  upAddRepeat: 0,
  upApp: 0,
  v1Up: 0,
  tag0: 0,
  tag1: 0,
  tag2: 0,
  defs: 0,
  ord: 0,
  bound: 0,
  texts: 0,
  rivalTexts: 0,
});

function newConn(name: string, store: MemoryStore, client: SyncClient): Conn {
  return {
    name, store, client, inbox: [], outbox: [], connected: false,
    reader: new ServerReader(), handles: new Map(), names: new Map(), nextHandle: 0,
  };
}

class FakeServer {
  readonly log: LogEntry[] = [];
  readonly state: BoardState = emptyState();
  readonly seen = new Map<string, number>();
  readonly rejectedKeys = new Set<string>();
  dropRate = 0;
  reorderRate = 0;
  readonly stats = newStats();

  constructor(
    private readonly conns: Conn[],
    private readonly random: () => number,
    /** Wire choices only, so the scenario's own random sequence does not depend on them. */
    private readonly wireRandom: () => number,
  ) {}

  private valid(op: Op): boolean {
    if (op.k === "add" && this.state.elements.has(op.el.id)) return false;
    if (op.k === "app" || op.k === "upd") {
      const el = this.state.elements.get(op.id);
      return el !== undefined && bindsFit(this.state, el.id, op.k === "upd" ? op.set : {});
    }
    if (op.k === "add" && !bindsFit(this.state, op.el.id, op.el)) return false;
    if (op.k === "ord") return op.after === null || (this.state.elements.has(op.after) && !op.ids.includes(op.after));
    return op.k !== "rst";
  }

  connect(conn: Conn): void {
    conn.connected = true;
    conn.inbox = [];
    conn.outbox = [];
    conn.reader = new ServerReader();
    conn.handles = new Map();
    conn.names = new Map();
    conn.client.attach((frame) => conn.outbox.push(frame));
    const hello = { type: "hello", v: 1, client_id: conn.client.clientId, role: "editor" } as const;
    this.send(conn, {
      ...hello,
      user: { id: 1, name: conn.name },
      board: { id: "b", title: "B", link_access: "none" },
      head_seq: this.log.length,
      limits: { ...DEFAULT_LIMITS, gap_wait_ms: 200 },
      presence: [],
    });
    this.catchUp(conn, conn.client.applied);
  }

  private catchUp(conn: Conn, from: number): void {
    if (from === 0 && this.log.length > 0) {
      this.send(conn, { t: "snap", s: this.log.length, els: [...this.state.elements.values()] });
    } else if (from < this.log.length) {
      this.send(conn, { t: "ops", ops: this.log.slice(from) });
    }
    this.send(conn, { type: "synced", seq: this.log.length });
  }

  private send(conn: Conn, msg: ServerMessage, live = false): void {
    conn.inbox.push({ msg, live });
  }

  /** Hand the connection's next message to its client, through the real codec. */
  deliver(conn: Conn): void {
    const next = conn.inbox.shift();
    if (!next || !conn.connected) return;
    for (const frame of this.encode(conn, next.msg, next.live)) conn.client.receive(frame);
  }

  private encode(conn: Conn, msg: ServerMessage, live: boolean): Frame[] {
    if (!live || "type" in msg || msg.t !== "ops" || this.wireRandom() < 0.2) return [encodeServer(msg)];
    const defs: Definition[] = [];
    const inFrame = new Set<number>();
    const handle = (name: string): number => {
      let h = conn.handles.get(name);
      if (h === undefined) {
        h = this.allocate(conn, inFrame);
        const old = conn.names.get(h);
        if (old !== undefined) conn.handles.delete(old);
        conn.handles.set(name, h);
        conn.names.set(h, name);
        defs.push([h, name]);
      }
      inFrame.add(h);
      return h;
    };
    const entries = msg.ops.map((e) => {
      if (e.k === "app") {
        this.stats.tag1++;
        return appEntry(handle(e.c), e.i, handle(e.id), packPoints(e.p, e.pr));
      }
      if (e.k === "add" && e.el.type === "stroke" && Object.keys(e.el).every((k) => STROKE_KEYS.has(k))) {
        this.stats.tag2++;
        const { id, x, y, style, p, pr } = e.el;
        return addEntry(handle(e.c), e.i, handle(id), x, y, handle(styleName(style)), packPoints(p ?? [], pr));
      }
      this.stats.tag0++;
      return v1Entry(mpEncode(e));
    });
    const first = msg.ops[0].s;
    if (defs.length > 0 && this.wireRandom() < 0.3) {
      this.stats.defs++;
      return [encodeDefs(defs), encodeDownOps(first, [], entries)];
    }
    return [encodeDownOps(first, defs, entries)];
  }

  /** A recycled handle not used by the frame being built (a fresh one if the pool is). */
  private allocate(conn: Conn, inFrame: Set<number>): number {
    for (let tries = 0; tries < HANDLE_POOL; tries++) {
      const h = conn.nextHandle++ % HANDLE_POOL;
      if (!inFrame.has(h)) return h;
    }
    return HANDLE_POOL + conn.nextHandle++;
  }

  process(conn: Conn): void {
    const frame = conn.outbox.shift();
    if (frame === undefined) return;
    if (typeof frame === "string") {
      const msg = decodeClient(frame);
      if ("type" in msg && msg.type === "resync") this.catchUp(conn, msg.from);
      return;
    }
    const repeats = conn.reader.repeatedStyles.length;
    const ops = conn.reader.read(frame);
    if (frame[0] === UP_ADD) {
      if (conn.reader.repeatedStyles.length > repeats && conn.reader.repeatedStyles.at(-1)) this.stats.upAddRepeat++;
      else this.stats.upAdd++;
    } else if (frame[0] === UP_APP) this.stats.upApp++;
    else this.stats.v1Up++;
    // The server's idea of an UP_APP's stroke must be the one the client meant.
    for (const op of ops) {
      const meant = conn.client.outbox.list().find((o) => o.i === op.i);
      if (meant) expect(op).toEqual(meant);
    }
    const acks: [number, number][] = [];
    const fresh: LogEntry[] = [];
    const rejected: number[] = [];
    for (const op of ops) {
      const key = `${conn.client.clientId}:${op.i}`;
      const known = this.seen.get(key);
      if (known !== undefined) acks.push([op.i, known]);
      else if (!this.valid(op)) {
        rejected.push(op.i);
        this.rejectedKeys.add(key);
      }
      else {
        // `u`: the account every connection signs in as (hello), as the server stamps it.
        const entry = { ...op, s: this.log.length + 1, c: conn.client.clientId, u: 1 } as LogEntry;
        this.log.push(entry);
        applyOp(this.state, entry);
        this.state.seq = entry.s;
        this.seen.set(key, entry.s);
        acks.push([op.i, entry.s]);
        fresh.push(entry);
      }
    }
    if (rejected.length) this.send(conn, { type: "error", code: "invalid_op", message: "no", ids: rejected });
    if (fresh.length) this.fanOut(fresh);
    if (acks.length) this.send(conn, { t: "ack", a: acks });
  }

  /** Live delivery: may drop a frame, or swap it with the previous undelivered one. */
  private fanOut(entries: LogEntry[]): void {
    for (const conn of this.conns) {
      if (!conn.connected || this.random() < this.dropRate) continue;
      this.send(conn, { t: "ops", ops: entries }, true);
      const n = conn.inbox.length;
      if (n >= 2 && this.random() < this.reorderRate) {
        [conn.inbox[n - 1], conn.inbox[n - 2]] = [conn.inbox[n - 2], conn.inbox[n - 1]];
      }
    }
  }
}

function randomOp(conn: Conn, random: () => number, serial: number, texts: boolean): NewOp | null {
  const view = conn.client.view();
  const els = [...view.elements.values()];
  const pick = () => els[Math.floor(random() * els.length)];
  const r = random();
  if (r < 0.35 || els.length === 0) {
    const id = `${conn.name}${serial}`;
    // Style, points and pressure by serial: the scenario's random sequence stays as it was.
    const el: Element =
      random() < 0.5
        ? { id, type: "stroke", x: serial, y: 1 - serial, style: { ...STYLES[serial % STYLES.length] }, p: [0, 0] }
        : { id, type: BOX_TYPES[serial % BOX_TYPES.length], x: serial, y: 5, w: 10, h: 10, style: { ...STYLE } };
    if (el.type === "frame") el.name = `F${serial}`;
    // Every fifth box an image: resized by `upd` below, concurrently with moves and deletes.
    if (el.type === "rect" && serial % 5 === 3) Object.assign(el, { type: "image", asset: "ab".repeat(32) });
    if (el.type === "stroke" && serial % 3 === 1) el.p = [0, 0, 9, -2, 10, -3];
    if (el.type === "stroke" && serial % 4 === 2) el.pr = Array.from({ length: el.p!.length / 2 }, (_, k) => 40 + k);
    return { k: "add", el };
  }
  if (texts && r >= 0.7 && random() < 0.6) return textOp(els, random, `${conn.name}${serial}`);
  if (r < 0.7) {
    const strokes = els.filter((el) => el.type === "stroke");
    if (strokes.length === 0) return null;
    const target = strokes[Math.floor(random() * strokes.length)];
    return { k: "app", id: target.id, p: [1, Math.floor(random() * 5) - 2] };
  }
  if (r < 0.8) {
    const target = pick();
    if (target.type === "image" && serial % 2 === 0) return { k: "upd", id: target.id, set: { w: 20 + (serial % 7), h: 15 } };
    // Every other remaining move is a transform instead, by serial: the random sequence stays.
    if (serial % 4 === 1) return transformOp(target, serial);
    return { k: "mov", ids: [target.id], dx: 3, dy: -1 };
  }
  if (r < 0.85) return structureOp(els, random, `${conn.name}${serial}`);
  if (r < 0.9) {
    // Restyles and renames of whatever is there, concurrent with moves and deletes of it.
    const target = pick();
    if (target.type === "frame" && serial % 2 === 0) return { k: "upd", id: target.id, set: { name: `N${serial}`, w: 20 } };
    return { k: "upd", id: target.id, set: { style: STYLE_PATCHES[serial % STYLE_PATCHES.length] } };
  }
  if (r < 0.98) return { k: "del", ids: [pick().id] };
  return { k: "clr" };
}

/** check_op's binding rule: targets on the board, bindable, not the line itself. */
function bindsFit(state: BoardState, id: string, fields: { sb?: Binding | null; eb?: Binding | null }): boolean {
  for (const b of [fields.sb, fields.eb]) {
    if (!b) continue;
    const target = state.elements.get(b.id);
    if (b.id === id || !target || !BINDABLE_TYPES.has(target.type)) return false;
  }
  return true;
}

/** Arrows bound to rects, rebinding, unbinding, z-order, groups and lock, on what `els` has. */
function structureOp(els: Element[], random: () => number, id: string): NewOp {
  const pick = () => els[Math.floor(random() * els.length)];
  const rects = els.filter((el) => el.type === "rect");
  const arrows = els.filter((el) => el.type === "arrow");
  const bind = (): Binding | undefined => {
    const target = rects[Math.floor(random() * rects.length)];
    return target && { id: target.id, fx: Math.floor(random() * 1001), fy: 500 };
  };
  const r = random();
  if (r < 0.35 || (r < 0.6 && arrows.length === 0)) {
    const el: Element = { id, type: "arrow", x: 0, y: 0, w: 40, h: 10, style: { ...STYLE } };
    const sb = bind();
    const eb = bind();
    if (sb) el.sb = sb;
    if (eb && random() < 0.7) el.eb = eb;
    return { k: "add", el };
  }
  if (r < 0.6) {
    const arrow = arrows[Math.floor(random() * arrows.length)];
    return { k: "upd", id: arrow.id, set: random() < 0.5 ? { sb: bind() ?? null } : { eb: null, x: 7 } };
  }
  if (r < 0.85) {
    const after = random() < 0.3 ? null : pick().id;
    const ids = [pick().id, pick().id].filter((k) => k !== after);
    return ids.length ? { k: "ord", ids, after } : { k: "ord", ids: [pick().id], after: null };
  }
  return { k: "upd", id: pick().id, set: random() < 0.5 ? { grp: [`g${serialOf(id)}`], lock: true } : { grp: null } };
}

/**
 * Texts and labels: new texts (wrapped, aligned), and edits of the few texts and rects there
 * are, so clients often edit the same element's text at once (last writer wins), remove a
 * label or a wrap width (null), restyle its alignment.
 */
function textOp(els: Element[], random: () => number, id: string): NewOp {
  const texts = els.filter((el) => el.type === "text" || isLabelled(el));
  const r = random();
  if (r < 0.3 || texts.length === 0) {
    const el: Element = { id, type: "text", x: 3, y: 4, text: `t ${id}`, size: 20, style: { ...STYLE } };
    if (random() < 0.5) el.w = 40 + Math.floor(random() * 100);
    if (random() < 0.5) el.align = "center";
    return { k: "add", el };
  }
  // Mostly the lowest one: the one every client sees, so edits of it cross in flight.
  const target = random() < 0.7 ? texts[0] : texts[Math.floor(random() * texts.length)];
  if (r < 0.75) return { k: "upd", id: target.id, set: { text: `edit ${id}\nby ${id}` } };
  if (r < 0.85) return { k: "upd", id: target.id, set: { align: random() < 0.5 ? "right" : null, size: 30 } };
  return { k: "upd", id: target.id, set: target.type === "text" ? { w: null } : { text: null, size: null } };
}

const serialOf = (id: string) => id.replace(/\D/g, "");

/** A resize or rotation of `el` as the transform handles send it (often of an element others edit too). */
function transformOp(el: Element, serial: number): NewOp {
  const rot = serial % 10 === 0 ? null : (serial * 37.25) % 360;
  if (el.type === "stroke") {
    const scale = serial % 8 === 4 ? null : ((serial % 7) - 3) / 2 || 1;
    return { k: "upd", id: el.id, set: { x: el.x - 1, sx: scale, sy: 2, rot } };
  }
  return { k: "upd", id: el.id, set: { x: el.x + 2, y: el.y - 1, w: serial % 40, h: 7, rot } };
}

/** `texts`: text ops too (off for the wire test, whose seeds are tuned to its frame kinds). */
async function runSeed(seed: number, steps: number, texts = true): Promise<WireStats> {
  const random = rng(seed);
  const conns: Conn[] = [];
  const server = new FakeServer(conns, random, rng(seed ^ 0x5eed));
  server.dropRate = 0.15;
  server.reorderRate = 0.15;
  const makeClient = (name: string, store: MemoryStore): SyncClient =>
    new SyncClient(new Outbox(store, "b", `client-${name}`), { change() {}, message() {}, session() {} });
  for (const name of ["a", "b", "c"]) {
    const store = new MemoryStore();
    conns.push(newConn(name, store, makeClient(name, store)));
  }
  for (const conn of conns) server.connect(conn);
  let serial = 0;
  const submitted: string[] = [];
  for (let step = 0; step < steps; step++) {
    const conn = conns[Math.floor(random() * conns.length)];
    const r = random();
    if (r < 0.3) {
      const op = randomOp(conn, random, serial++, texts);
      if (op) for (const sent of conn.client.submit([op])) submitted.push(`${conn.client.clientId}:${sent.i}`);
      await Promise.resolve(); // the SyncClient flushes in a microtask
    } else if (r < 0.55) {
      if (conn.connected) server.process(conn);
    } else if (r < 0.85) {
      server.deliver(conn);
    } else if (r < 0.93) {
      vi.advanceTimersByTime(100);
    } else if (r < 0.97) {
      if (conn.connected) {
        conn.connected = false;
        conn.client.detach();
      } else server.connect(conn);
    } else {
      // A page reload: a new SyncClient on the same storage (outbox and client id survive).
      if (conn.connected) conn.client.detach();
      conn.client = makeClient(conn.name, conn.store);
      server.connect(conn);
    }
  }
  // Heal: reliable delivery, everyone connected, run until nothing moves.
  server.dropRate = 0;
  server.reorderRate = 0;
  for (const conn of conns) if (!conn.connected) server.connect(conn);
  for (let round = 0; round < 200; round++) {
    let moved = false;
    for (const conn of conns) {
      while (conn.outbox.length || conn.inbox.length) {
        moved = true;
        server.process(conn);
        server.deliver(conn);
      }
    }
    vi.advanceTimersByTime(1_000);
    await Promise.resolve();
    if (!moved && conns.every((c) => c.outbox.length === 0 && c.inbox.length === 0)) break;
  }
  const expected = [...server.state.elements.values()];
  for (const conn of conns) {
    expect(conn.client.applied, `seed ${seed} client ${conn.name} seq`).toBe(server.log.length);
    expect([...conn.client.confirmed.elements.values()], `seed ${seed} client ${conn.name}`).toEqual(expected);
    expect(conn.client.outbox.size, `seed ${seed} client ${conn.name} outbox`).toBe(0);
    expect([...conn.client.view().elements.values()]).toEqual(expected);
  }
  // Acked means durable, and nothing is lost: every submitted op was stored or rejected.
  const lost = submitted.filter((key) => !server.seen.has(key) && !server.rejectedKeys.has(key));
  expect(lost, `seed ${seed}: ops never stored`).toEqual([]);
  // The log replays to the same state (the server's own invariant, checked on the fake).
  const replayed = cloneState(emptyState());
  for (const entry of server.log) applyOp(replayed, entry);
  expect([...replayed.elements.values()]).toEqual(expected);
  server.stats.ord += server.log.filter((e) => e.k === "ord").length;
  const lastEditor = new Map<string, string>();
  for (const e of server.log) {
    if (e.k !== "upd" || typeof e.set.text !== "string") continue;
    server.stats.texts++;
    if ((lastEditor.get(e.id) ?? e.c) !== e.c) server.stats.rivalTexts++;
    lastEditor.set(e.id, e.c);
  }
  server.stats.bound += server.log.filter((e) => (e.k === "add" ? e.el.sb : e.k === "upd" && e.set.sb)).length;
  return server.stats;
}

/** Seeds that once failed, kept as regressions; plus a fresh range every run. */
const SEEDS = [1, 2, 3, 42, 1337, ...Array.from({ length: 25 }, (_, k) => 1000 + k)];

describe("convergence fuzz", () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] }));
  afterEach(() => vi.useRealTimers());

  it.each(SEEDS)("seed %i converges", async (seed) => {
    await runSeed(seed, 400);
  });

  it("edits the same text from two clients at once (last writer wins)", async () => {
    let texts = 0;
    let rivals = 0;
    for (const seed of [7, 8, 9]) {
      const stats = await runSeed(seed, 400);
      texts += stats.texts;
      rivals += stats.rivalTexts;
    }
    expect(texts, "text edits").toBeGreaterThan(5);
    expect(rivals, "edits of a text last edited by another client").toBeGreaterThan(0);
  });

  it("puts every v2 frame kind and entry tag on the wire", async () => {
    const total = newStats();
    for (const seed of [1, 2, 3]) {
      const stats = await runSeed(seed, 400, false);
      for (const key of Object.keys(total) as (keyof WireStats)[]) total[key] += stats[key];
    }
    for (const [key, n] of Object.entries(total)) if (key !== "texts" && key !== "rivalTexts") expect(n, key).toBeGreaterThan(0);
  });
});
