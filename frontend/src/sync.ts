/**
 * SyncClient: the client half of the sync protocol, sans I/O.
 *
 * It owns the confirmed state (the durable log applied in seq order), the tentative layer
 * (others' ops the server sent before their commit, protocol §2.6, in arrival order:
 * TentativeLayer), the optimistic layer (this client's unconfirmed ops, rendered on top and
 * replayed over every newer confirmed state, a rebase: PendingOps), the persisted outbox and the
 * reorder buffer, and composes the view from them (changed in place while someone draws:
 * view-touch.ts). A transport hands it decoded server messages and socket lifecycle events; it
 * hands back frames to send. Rejected ops
 * (`invalid_op`, `board_full`, `read_only`) are dropped and the client resyncs from its applied
 * seq, which is always a correct way to roll optimistic state back.
 *
 * The wire format of each connection (protocol v2's handles and compact frames) lives in its
 * WireSession: frames come in through `receive`, and `flush` asks the session how to send.
 */
import { splitOp } from "./op-split";
import { applyOp, cloneState, emptyState, stateFromElements, type BoardState } from "./ops";
import { Outbox } from "./outbox";
import { OwnEntries } from "./own-entry";
import { PendingOps } from "./pending";
import {
  DEFAULT_LIMITS,
  encode,
  type ClientMessage,
  type Element,
  type ErrorMessage,
  type HelloMessage,
  type Limits,
  type LogEntry,
  type NewOp,
  type Op,
  type Role,
  type ServerMessage,
  type TentativeOp,
} from "./protocol";
import { refusalReason, type BoardFullRefusal } from "./refusal";
import { ReorderBuffer } from "./reorder";
import { TentativeLayer } from "./tentative";
import { confirmationKeepsView, TouchLog } from "./view-touch";
import { WireSession, type Frame } from "./wire";

export type { Frame } from "./wire";
export type { NewOp } from "./protocol";
export { refusalReason, type BoardFullRefusal } from "./refusal";

/** After `rate_limited`/`unavailable`, wait this long before resending (ms): the server asks "later". */
export const RESEND_DELAY_MS = 1000;

export interface SyncEvents {
  /** The rendered state (confirmed + optimistic) changed. */
  change(): void;
  /** Any message the sync layer does not consume itself (presence, cursors, board, pong...). */
  message(msg: ServerMessage): void;
  /** hello/synced/role changes. */
  session(): void;
}

export class SyncClient {
  confirmed: BoardState = emptyState();
  role: Role | null = null;
  limits: Limits = { ...DEFAULT_LIMITS };
  hello: HelloMessage | null = null;
  /** Bumped on every change of the rendered state (renderers cache by it). */
  version = 0;
  /** True between `synced` and the socket closing: live, outbox flushed. */
  synced = false;
  /** The last `board_full` refusal, if any: the UI tells the user for a few seconds. */
  boardFull: BoardFullRefusal | null = null;
  /** Told of every log entry as it is applied (the text editor watches others' edits). */
  readonly entryListeners = new Set<(entry: LogEntry) => void>();
  private readonly pending = new PendingOps();
  /** Others' ops sent before their commit (protocol §2.6). */
  private readonly tentatives = new TentativeLayer();
  private readonly sent = new Set<number>();
  private readonly reorder: ReorderBuffer;
  private send: ((frame: Frame) => void) | null = null;
  /** This connection's v2 state; replaced on every attach and detach. */
  private wire = new WireSession();
  private viewCache: BoardState | null = null;
  /** What changed in place in `viewCache` since it was built. */
  private readonly touched = new TouchLog();
  private flushScheduled = false;
  private resendTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    public outbox: Outbox,
    private readonly events: SyncEvents,
  ) {
    this.reorder = new ReorderBuffer(this.limits.gap_wait_ms, () => this.resync());
    for (const op of outbox.list()) this.pending.add(op);
  }

  get clientId(): string {
    return this.outbox.clientId;
  }

  get applied(): number {
    return this.confirmed.seq;
  }

  get readOnly(): boolean {
    return this.role === "viewer";
  }

  /**
   * The state to render: confirmed, then others' tentatives in arrival order, then this
   * client's pending ops, in `i` order.
   *
   * Building it copies the whole board, so while someone draws it is kept and changed in
   * place instead: a stroke's appends are applied to it (`submit`), and the log confirming
   * this client's own ops in order leaves it as it is (`applyEntries`). Anything else builds
   * it afresh. A caller may hold a view across its own `submit` of other ops (deleting reads
   * the z-order after sending the delete): only appends change a view in place.
   */
  view(): BoardState {
    if (this.viewCache) return this.viewCache;
    if (this.pending.size === 0 && this.tentatives.size === 0) return (this.viewCache = this.confirmed);
    const state = cloneState(this.confirmed);
    for (const op of this.tentatives.values()) applyOp(state, op);
    for (const op of this.pending.inOrder()) applyOp(state, op);
    return (this.viewCache = state);
  }

  /**
   * The ids of the elements `view()` changed in place since `version`, on the same state
   * object; null when it may have changed any other way since (compare all of it then).
   */
  touchedSince(version: number): string[] | null {
    return this.touched.since(version);
  }

  /** Submit local ops: optimistic at once, persisted, sent when live. Returns the ops. */
  submit(newOps: readonly NewOp[]): Op[] {
    if (this.readOnly) return [];
    const ops: Op[] = [];
    for (const partial of newOps.flatMap((op) => splitOp(op, this.limits.max_points_per_op))) {
      const op = { ...partial, i: this.outbox.nextId() } as Op;
      this.outbox.push(op);
      this.pending.add(op);
      ops.push(op);
    }
    // Appends are the newest pending ops: applied last, as a rebuild would apply them.
    if (this.viewIsCopy() && ops.every((op) => op.k === "app")) this.changeInPlace(ops);
    else this.changed();
    this.scheduleFlush();
    return ops;
  }

  /** The socket opened: remember how to send; nothing is sent before `synced`. */
  attach(send: (frame: Frame) => void): void {
    this.send = send;
    this.synced = false;
    this.sent.clear();
    this.own.clear();
    this.wire = new WireSession();
  }

  /** The socket closed: every unacked op will be resent on the next connection. */
  detach(): void {
    this.send = null;
    this.synced = false;
    this.sent.clear();
    this.wire = new WireSession();
    this.reorder.clear();
    // What the server sent before a commit may never be committed (it may have crashed): the
    // next catch-up brings what the log has.
    this.dropTentatives();
    this.events.session();
  }

  sendMessage(msg: ClientMessage): boolean {
    if (!this.send) return false;
    this.send(encode(msg));
    return true;
  }

  resync(): void {
    this.dropTentatives();
    this.wire.dropBatch();
    this.sendMessage({ type: "resync", from: this.applied });
  }

  /**
   * A frame as received from the socket: decoded with this connection's state, then handled.
   * Throws ProtocolError for a frame it cannot understand (CompactError: see the editor).
   */
  receive(frame: ArrayBuffer | Uint8Array | string): void {
    const msg = this.wire.decode(frame);
    if (msg) this.handle(msg);
  }

  handle(msg: ServerMessage): void {
    if (!("type" in msg)) {
      if (msg.t === "ops") return this.onOps(msg.ops);
      if (msg.t === "ack") return this.onAck(msg.a);
      if (msg.t === "snap") return this.onSnap(msg.s, msg.els);
      if (msg.t === "tent") return this.onTentative(msg.ops);
      if (msg.t === "tdrop") return this.onTentativeDrop(msg.ops);
      return this.events.message(msg);
    }
    switch (msg.type) {
      case "hello":
        return this.onHello(msg);
      case "synced":
        this.synced = true;
        this.flush();
        this.events.session();
        return;
      case "error":
        this.onError(msg);
        return this.events.message(msg);
      default:
        return this.events.message(msg);
    }
  }

  private onHello(msg: HelloMessage): void {
    if (msg.client_id !== this.clientId) {
      // Only happens if our id were malformed; ours never is. Resent ops would then be
      // stored twice (the idempotency key changed), so say so loudly.
      console.error("inkroom: server assigned client id %s, we use %s", msg.client_id, this.clientId);
    }
    this.hello = msg;
    this.role = msg.role;
    this.limits = { ...DEFAULT_LIMITS, ...msg.limits };
    this.reorder.gapWaitMs = this.limits.gap_wait_ms;
    this.events.session();
  }

  private onSnap(seq: number, els: readonly Element[]): void {
    this.tentatives.clear(); // the view is rebuilt below
    this.confirmed = stateFromElements(seq, els);
    this.reorder.resetTo(seq);
    this.pending.dropConfirmed(this.applied);
    this.applyEntries(this.reorder.drain(this.applied));
    this.changed();
  }

  private onOps(entries: readonly LogEntry[]): void {
    this.applyEntries(this.reorder.offer(this.applied, entries));
  }

  private applyEntries(entries: readonly LogEntry[]): void {
    if (entries.length === 0) return;
    const unchanged =
      this.viewIsCopy() && confirmationKeepsView(entries, (e) => this.own.ack(e), this.pending.ids(), this.tentatives);
    for (const entry of entries) {
      applyOp(this.confirmed, entry);
      this.confirmed.seq = entry.s;
      for (const listener of this.entryListeners) listener(entry);
      this.tentatives.confirm(entry);
      if (this.own.ack(entry, this.outbox.get(entry.i))) {
        // Seeing our own op in the log proves it durable, even if its ack was lost.
        this.pending.delete(entry.i);
        this.outbox.remove(entry.i);
      }
    }
    this.pending.dropConfirmed(this.applied);
    if (unchanged) {
      this.viewCache!.seq = this.confirmed.seq;
      this.events.change();
    } else {
      this.changed();
    }
  }

  /** Which entries under our id are our ops (own-entry.ts). */
  private readonly own = new OwnEntries(() => ({ clientId: this.clientId, userId: this.hello?.user.id ?? null, sentHere: (i) => this.sent.has(i) }));

  /** Write as `outbox`'s client id from now on (Outbox.moveTo); the caller reconnects. */
  switchWriter(outbox: Outbox): void {
    this.outbox = outbox;
    this.sent.clear();
  }

  private onTentative(ops: readonly TentativeOp[]): void {
    const others = ops.filter((op) => op.c !== this.clientId); // ours are in the outbox
    if (others.length === 0) return;
    // Others' appends to a view with nothing pending above them go on top, where a rebuild
    // would put them: changed in place, as our own appends are (`submit`). A resend moves.
    const inPlace =
      this.viewIsCopy() && this.pending.size === 0 && others.every((op) => op.k === "app" && !this.tentatives.has(op));
    this.tentatives.offer(others);
    if (inPlace) this.changeInPlace(others);
    else this.changed();
  }

  private onTentativeDrop(keys: readonly [string, number][]): void {
    if (this.tentatives.drop(keys)) this.changed();
  }

  private dropTentatives(): void {
    if (this.tentatives.clear()) this.changed();
  }

  /** How many tentatives the view holds (protocol §2.6); for tests and diagnostics. */
  get tentativeCount(): number {
    return this.tentatives.size;
  }

  private onAck(acks: readonly [number, number][]): void {
    for (const [i, s] of acks) {
      this.outbox.remove(i);
      this.pending.ack(i, s);
    }
    // An ack alone changes nothing shown; dropping an op the log already holds may.
    if (this.pending.dropConfirmed(this.applied)) this.changed();
    else this.events.change();
  }

  private onError(msg: ErrorMessage): void {
    const ids = msg.ids ?? [];
    if (msg.code === "invalid_op" || msg.code === "board_full" || msg.code === "read_only") {
      // Final: the server will never store these ops. (`board_full`: the board reached a size
      // bound; resending cannot help until someone deletes something, and then it is a new op.)
      for (const i of ids) {
        this.pending.delete(i);
        this.outbox.remove(i);
      }
      if (msg.code === "board_full") this.boardFull = { reason: refusalReason(msg), at: Date.now() };
      if (msg.code === "read_only") {
        this.role = "viewer";
        this.events.session();
      }
      this.changed();
      this.resync();
    } else if (msg.code === "rate_limited" || msg.code === "unavailable" || msg.code === "too_large" || ids.length === 0) {
      // Without ids, or `too_large` (with or without them), a frame was refused whole (or an
      // UP_NEXT had no op to number after): the server's count of our op ids is unknown, so every
      // unacked op goes again, with explicit ids (the server stores each (client, i) once).
      if (ids.length === 0 || msg.code === "too_large") {
        this.sent.clear();
        this.wire.lastI = null;
      }
      for (const i of ids) this.sent.delete(i);
      if (this.resendTimer === null) {
        this.resendTimer = setTimeout(() => {
          this.resendTimer = null;
          this.flush();
        }, RESEND_DELAY_MS);
      }
    } else if (msg.code === "client_id_taken") {
      // Nothing more under this id (protocol §1): the owner of this client moves the outbox to
      // a fresh id (Outbox.moveTo, switchWriter) and reconnects, taking back what it guessed acked.
      this.send = null;
      this.sent.clear(); // and no more guesses: another process's squatting entries may follow
      const back = this.own.takeBack(ids);
      for (const op of back) this.outbox.push(op);
      for (const op of back) this.pending.add(op);
      if (back.length) this.changed();
    } else {
      console.warn("inkroom: server error", msg.code, msg.message);
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /**
   * Send every outbox op not yet sent on this connection, in `i` order, in bounded frames (an
   * `app` on the connection's current stroke as a compact UP_APP frame of its own).
   */
  flush(): void {
    if (!this.send || !this.synced) return;
    const unsent = this.outbox.list().filter((op) => !this.sent.has(op.i));
    for (const op of unsent) this.sent.add(op.i);
    for (const frame of this.wire.encodeOps(unsent, this.limits)) this.send(frame);
  }

  /** Whether the view is built and a copy apart from the confirmed state (changeable in place). */
  private viewIsCopy(): boolean {
    return this.viewCache !== null && this.viewCache !== this.confirmed;
  }

  /** Apply appends that go on top of everything the view shows to the view itself. */
  private changeInPlace(appends: readonly Op[]): void {
    this.version += 1;
    const ids: string[] = [];
    for (const op of appends) {
      applyOp(this.viewCache!, op);
      if (op.k === "app") ids.push(op.id);
    }
    this.touched.touch(this.version, ids);
    this.events.change();
  }

  private changed(): void {
    this.viewCache = null;
    this.version += 1;
    this.touched.reset(this.version);
    this.events.change();
  }
}
