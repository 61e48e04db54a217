/**
 * One connection's protocol v2 state (docs/protocol.md §2.5), sans I/O: the handle table that
 * DEFS and DOWN_OPS frames feed, the authors' continuations (CONT and DOWN_OPS), the *current
 * stroke* and the last op id sent, which decide when an `app` op can go out as a compact UP_NEXT
 * or UP_APP frame, and the style of the last UP_ADD (what an UP_ADD's "" style stands for). All
 * are per connection, so the SyncClient makes a fresh WireSession for every socket.
 *
 * Everything that is not a compact frame is v1 (catch-up always is), so decoding falls through
 * to protocol.decode, and DOWN_OPS comes out as the v1 `ops` frame it stands for (tag-1, tag-2
 * and tag-3 entries as v1 `app` and `add` entries): the sync layer needs no second path for
 * gaps and acks. With `tentative=2` (§2.6) the same goes for DOWN_TENT, the `tent` frame it
 * stands for, and DOWN_PROMOTE, the `ops` frame of the last DOWN_TENT's ops (the *batch*, kept
 * here) from the seq it gives.
 */
import {
  CompactError,
  type Continuations,
  decodeCont,
  decodeDefs,
  decodeDownOps,
  decodeDownTent,
  decodePromote,
  DOWN_CONT,
  DOWN_DEFS,
  DOWN_OPS,
  DOWN_PROMOTE,
  DOWN_TENT,
  encodeUpAdd,
  encodeUpApp,
  encodeUpNext,
  styleName,
} from "./compact";
import {
  decode,
  encode,
  type AddOp,
  type AppendOp,
  type Limits,
  type LogEntry,
  type Op,
  type ServerMessage,
  type TentativeOp,
} from "./protocol";

/** A frame ready for WebSocket.send: binary bytes or a JSON string. */
export type Frame = Uint8Array | string;
/** msgpack framing overhead of `{t: "ops", ops: [...]}` around the ops (bytes, generous). */
const FRAME_OVERHEAD_BYTES = 16;
/** The element keys an UP_ADD carries; an `add` with any other key goes v1. */
const UP_ADD_KEYS = new Set(["id", "type", "x", "y", "style", "p", "pr"]);

export type FrameLimits = Pick<Limits, "max_frame_bytes" | "max_ops_per_frame" | "max_points_per_op">;

export class WireSession {
  /** handle -> client id, element id or style JSON text, as defined on this connection. */
  private readonly names = new Map<number, string>();
  /**
   * The id of the last stroke `add` or `app` sent on this connection (v1 `ops` frame or
   * UP_ADD): the element the server gives an UP_APP (it tracks the same thing in frame order).
   */
  currentStroke: string | null = null;
  /** The style (canonical JSON text) of the last UP_ADD sent on this connection. */
  lastStyle: string | null = null;
  /**
   * The `i` of the last op of the last op frame sent on this connection: an `app` numbered one
   * after it goes as UP_NEXT, which carries no `i` (the server counts the same way).
   */
  lastI: number | null = null;

  /** Each author handle's continuation: what a DOWN_OPS tag-3 entry continues. */
  private readonly conts: Continuations = new Map();
  /**
   * The ops of the last DOWN_TENT, own ones included, until a DOWN_PROMOTE makes them entries or
   * a frame of entries, a `snap` or a `resync` (dropBatch) ends them (§2.6, "The batch").
   */
  private batch: TentativeOp[] | null = null;

  /** The client sends `resync`: what the batch stands for comes in its catch-up. */
  dropBatch(): void {
    this.batch = null;
  }

  /**
   * Decode a server frame. DEFS and CONT only feed the handle table and the continuations
   * (null: nothing to handle); a DOWN_OPS frame becomes `{t: "ops", ops}`, a DOWN_TENT
   * `{t: "tent", ops}`, a DOWN_PROMOTE the `ops` frame of the batch's ops (null when no batch is
   * held: a `resync` was sent since, whose catch-up brings them). Throws ProtocolError
   * (CompactError for a malformed compact frame, or a DOWN_PROMOTE not of the batch's length).
   */
  decode(frame: ArrayBuffer | Uint8Array | string): ServerMessage | null {
    if (typeof frame === "string") return decode(frame);
    const bytes = frame instanceof Uint8Array ? frame : new Uint8Array(frame);
    if (bytes[0] === DOWN_DEFS) {
      for (const [handle, name] of decodeDefs(bytes)) {
        this.names.set(handle, name);
        this.conts.delete(handle);
      }
      return null;
    }
    if (bytes[0] === DOWN_CONT) {
      for (const [author, i, element] of decodeCont(bytes)) this.conts.set(author, { i, element });
      return null;
    }
    if (bytes[0] === DOWN_OPS) {
      this.batch = null;
      return { t: "ops", ops: decodeDownOps(bytes, this.names, this.conts).entries };
    }
    if (bytes[0] === DOWN_TENT) {
      this.batch = decodeDownTent(bytes, this.names, this.conts);
      return { t: "tent", ops: this.batch };
    }
    if (bytes[0] === DOWN_PROMOTE) return this.promote(bytes);
    const msg = decode(bytes);
    if ("t" in msg && (msg.t === "ops" || msg.t === "snap")) this.batch = null;
    return msg;
  }

  private promote(bytes: Uint8Array): ServerMessage | null {
    const { first, n } = decodePromote(bytes);
    const batch = this.batch;
    this.batch = null;
    if (batch === null) return null;
    if (n !== batch.length) throw new CompactError(`DOWN_PROMOTE of ${n} ops, the batch holds ${batch.length}`);
    return { t: "ops", ops: batch.map((op, k) => ({ ...op, s: first + k }) as LogEntry) };
  }

  /**
   * The frames that send `ops`, in order: a stroke `add` as one UP_ADD frame, an `app` on the
   * current stroke as one UP_NEXT frame (numbered one after the op before it, no pressure) or
   * UP_APP frame, runs of other ops as v1 `ops` frames within the frame
   * limits. Splitting a run where a compact frame falls keeps the server's view of the current
   * stroke and of the last UP_ADD's style (frame order) equal to ours.
   */
  encodeOps(ops: readonly Op[], limits: FrameLimits): Frame[] {
    const frames: Frame[] = [];
    const budget = limits.max_frame_bytes - FRAME_OVERHEAD_BYTES;
    let batch: Op[] = [];
    let bytes = 0;
    const flushBatch = () => {
      if (batch.length > 0) {
        frames.push(encode({ t: "ops", ops: batch }));
        const last = batch[batch.length - 1].i;
        this.lastI = Number.isSafeInteger(last) ? last : null;
      }
      batch = [];
      bytes = 0;
    };
    for (const op of ops) {
      // The pending run goes out before a compact frame, so an UP_NEXT numbers after its last op.
      const before = batch.length > 0 ? batch[batch.length - 1].i : this.lastI;
      const compact = this.compact(op, limits, before);
      if (compact) {
        flushBatch();
        frames.push(compact);
        this.lastI = op.i;
        continue;
      }
      const size = (encode({ t: "ops", ops: [op] }) as Uint8Array).byteLength;
      if (batch.length >= limits.max_ops_per_frame || (batch.length > 0 && bytes + size > budget)) flushBatch();
      batch.push(op);
      bytes += size;
      if (op.k === "app") this.currentStroke = op.id;
      else if (op.k === "add" && op.el.type === "stroke") this.currentStroke = op.el.id;
    }
    flushBatch();
    return frames;
  }

  /**
   * The compact frame for `op` (UP_ADD, UP_NEXT or UP_APP), or null if it must go in a v1 `ops` frame.
   * Sending an UP_ADD updates the current stroke and the last style.
   */
  private compact(op: Op, limits: FrameLimits, lastI: number | null): Uint8Array | null {
    try {
      if (op.k === "add") return this.upAdd(op, limits);
      if (op.k !== "app" || op.id !== this.currentStroke || !fitsPoints(op, limits)) return null;
      if (op.pr === undefined && lastI !== null && op.i === lastI + 1) return fitsFrame(encodeUpNext(op.p), limits);
      return fitsFrame(encodeUpApp(op.i, op.p, op.pr), limits);
    } catch (err) {
      // Not representable (non-integer values, a style that is not JSON): v1 lets the server
      // refuse it by `i`.
      if (err instanceof CompactError) return null;
      throw err;
    }
  }

  private upAdd(op: AddOp, limits: FrameLimits): Uint8Array | null {
    const el = op.el;
    if (el.type !== "stroke" || el.p === undefined || !Object.keys(el).every((k) => UP_ADD_KEYS.has(k))) return null;
    if (!fitsPoints(el as { p: number[]; pr?: number[] }, limits)) return null;
    const text = styleName(el.style);
    const frame = fitsFrame(
      encodeUpAdd(op.i, el.id, el.x, el.y, text === this.lastStyle ? null : el.style, el.p, el.pr),
      limits,
    );
    if (frame) {
      this.currentStroke = el.id;
      this.lastStyle = text;
    }
    return frame;
  }
}

/**
 * A malformed UP_APP or UP_ADD is answered `bad_frame`, which names no op, so the op would sit
 * unacked in the outbox; ops the server would refuse go v1 instead, where `invalid_op` names
 * them. (Beyond this, the op's own validity is the server's call, as for v1.)
 */
function fitsPoints(op: Pick<AppendOp, "p" | "pr">, limits: FrameLimits): boolean {
  if (!Array.isArray(op.p)) return false;
  const n = op.p.length / 2;
  if (!Number.isInteger(n) || n < 1 || n > limits.max_points_per_op) return false;
  return op.pr === undefined || (Array.isArray(op.pr) && op.pr.length === n);
}

/** A frame above max_frame_bytes is refused whole (`too_large`): v1 then. */
function fitsFrame(frame: Uint8Array, limits: FrameLimits): Uint8Array | null {
  return frame.byteLength <= limits.max_frame_bytes ? frame : null;
}
