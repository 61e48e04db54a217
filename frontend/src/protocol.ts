/**
 * The Inkroom wire protocol (docs/protocol.md): message types, CloseCode and the v1 codec.
 *
 * Mirrors realtime/wire/protocol.py type for type. Binary frames are msgpack maps keyed by `t`
 * (the hot path); text frames are JSON objects keyed by `type` (control). Pure: no I/O.
 * The client speaks v2, which is v1 plus the compact frames of compact.ts (routed by wire.ts).
 */
import { decode as mpDecode, encode as mpEncode } from "@msgpack/msgpack";

export const PROTOCOL_VERSION = 2;

/** WebSocket close codes (docs/protocol.md §7). */
export const CloseCode = {
  NORMAL: 1000,
  MESSAGE_TOO_BIG: 1009,
  SERVICE_RESTART: 1012,
  PROTOCOL_ERROR: 4000,
  UNAUTHENTICATED: 4001,
  FORBIDDEN: 4003,
  NOT_FOUND: 4004,
  ROLE_CHANGED: 4005,
  TOO_SLOW: 4008,
  TOO_MANY_SOCKETS: 4009,
  CLIENT_REPLACED: 4010,
  RATE_LIMITED: 4029,
} as const;
export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

export type Role = "owner" | "editor" | "viewer";
export type ElementType = "stroke" | "rect" | "ellipse" | "line" | "arrow" | "text" | "diamond" | "note" | "frame" | "image";

/** Stroke dash, fill pattern and font (§3.1): an absent key is the first value. */
export type Dash = "solid" | "dash" | "dot";
export type FillPattern = "solid" | "hatch" | "cross";
export type Font = "hand" | "sans" | "serif" | "mono";

export interface Style {
  color: string;
  width: number;
  opacity: number;
  fill: string | null;
  dash?: Dash;
  fs?: FillPattern;
  font?: Font;
}

/** A line/arrow endpoint bound to a box: anchor per mille of its width (fx) and height (fy). */
export interface Binding {
  id: string;
  fx: number;
  fy: number;
}
/** A partial style for `upd`: null on dash/fs/font removes the key (back to its default). */
export type StylePatch = Partial<Omit<Style, "dash" | "fs" | "font">> & {
  dash?: Dash | null;
  fs?: FillPattern | null;
  font?: Font | null;
};

/** One board element (§3.1). Treated as immutable: reducers replace, never mutate. */
export interface Element {
  id: string;
  type: ElementType;
  x: number;
  y: number;
  style: Style;
  p?: number[];
  pr?: number[];
  w?: number;
  h?: number;
  text?: string;
  size?: number;
  /** Groups, innermost first (at most 8). */
  grp?: string[];
  lock?: boolean;
  /** Start / end bindings (line, arrow). */
  sb?: Binding;
  eb?: Binding;
  /** Text and box-shape labels: absent = left for text, center for labels. */
  align?: "left" | "center" | "right";
  /** A frame's name. */
  name?: string;
  /** image: sha256 (hex) of the file, served by GET /api/v1/boards/{id}/assets/{asset}/. */
  asset?: string;
  /** Degrees clockwise about the centre of the unrotated box, 0 <= rot < 360 (absent: 0). */
  rot?: number;
  /** A stroke's scale of its points about (x, y), before rotation (absent: 1). */
  sx?: number;
  sy?: number;
}

/** In a patch, null removes an optional key. */
export interface ElementPatch {
  style?: StylePatch;
  x?: number;
  y?: number;
  w?: number | null;
  h?: number;
  text?: string | null;
  size?: number | null;
  align?: "left" | "center" | "right" | null;
  grp?: string[] | null;
  lock?: boolean | null;
  sb?: Binding | null;
  eb?: Binding | null;
  name?: string;
  rot?: number | null;
  sx?: number | null;
  sy?: number | null;
}

export type AddOp = { i: number; k: "add"; el: Element };
export type AppendOp = { i: number; k: "app"; id: string; p: number[]; pr?: number[] };
export type UpdateOp = { i: number; k: "upd"; id: string; set: ElementPatch };
export type MoveOp = { i: number; k: "mov"; ids: string[]; dx: number; dy: number };
export type DeleteOp = { i: number; k: "del"; ids: string[] };
export type ClearOp = { i: number; k: "clr" };
export type RestoreOp = { i: number; k: "rst"; from: number; els: Element[] };
/** Z-order: `ids` go, in their relative order, directly above `after` (null: the bottom). */
export type OrderOp = { i: number; k: "ord"; ids: string[]; after: string | null };
/** An op as a client submits it (§3.2). `rst` is server-issued only. */
export type Op = AddOp | AppendOp | UpdateOp | MoveOp | DeleteOp | ClearOp | RestoreOp | OrderOp;
/** An op before the SyncClient numbers it (`i`). */
export type NewOp = Op extends infer T ? (T extends Op ? Omit<T, "i"> : never) : never;
export type OpKind = Op["k"];

/**
 * An op as stored in the log: the op plus board seq, author client id and author user id.
 * `u` is absent from v2 compact `app` entries (§2.5); nothing in the client reads it.
 */
export type LogEntry = Op & { s: number; c: string; u?: number | null };

export interface Limits {
  max_frame_bytes: number;
  max_ops_per_frame: number;
  max_points_per_op: number;
  max_points_per_stroke: number;
  max_elements: number;
  max_board_points: number;
  max_board_text_chars: number;
  ops_per_sec: number;
  ops_burst: number;
  bytes_per_sec: number;
  bytes_burst: number;
  cursor_ms: number;
  gap_wait_ms: number;
  snapshot_catchup_ops: number;
  catchup_frame_ops: number;
}

/** Defaults of docs/protocol.md §5, used until `hello` tells the real ones. */
export const DEFAULT_LIMITS: Limits = {
  max_frame_bytes: 262144,
  max_ops_per_frame: 256,
  max_points_per_op: 1024,
  max_points_per_stroke: 50000,
  max_elements: 100000,
  max_board_points: 2000000,
  max_board_text_chars: 2000000,
  ops_per_sec: 300,
  ops_burst: 600,
  bytes_per_sec: 1048576,
  bytes_burst: 4194304,
  cursor_ms: 50,
  gap_wait_ms: 500,
  snapshot_catchup_ops: 5000,
  catchup_frame_ops: 2000,
};

export type Viewport = [number, number, number, number];

// Client -> server, binary.
export type ClientOpsFrame = { t: "ops"; ops: Op[] };
export type ClientCursorFrame = { t: "cur"; x: number; y: number; vp?: Viewport; l?: 1 };
// Server -> client, binary.
export type ServerOpsFrame = { t: "ops"; ops: LogEntry[] };
export type AckFrame = { t: "ack"; a: [number, number][] };
export type SnapFrame = { t: "snap"; s: number; els: Element[] };
export type CursorEntry =
  | [string, number, number]
  | [string, number, number, Viewport]
  | [string, number, number, Viewport | null, 1];
export type ServerCursorFrame = { t: "cur"; c: CursorEntry[] };
/** An op the board accepted and has not committed yet, with its author (protocol §2.6). */
export type TentativeOp = Op & { c: string };
/**
 * Only to sockets opened with `tentative=1` (or, compact as DOWN_TENT, `2`): others' ops before
 * their commit (§2.6).
 */
export type TentativeFrame = { t: "tent"; ops: TentativeOp[] };
/** Tentative ops that will not be committed as sent: drop them (§2.6). */
export type TentativeDropFrame = { t: "tdrop"; ops: [string, number][] };

export type ClientBinary = ClientOpsFrame | ClientCursorFrame;
export type ServerBinary =
  | ServerOpsFrame
  | AckFrame
  | SnapFrame
  | ServerCursorFrame
  | TentativeFrame
  | TentativeDropFrame;

// Client -> server, text.
export type ResyncMessage = { type: "resync"; from: number };
export type PresenceSetMessage = { type: "presence"; name: string; color: string };
export type PingMessage = { type: "ping"; t: string | number | boolean | null };
export type ClientText = ResyncMessage | PresenceSetMessage | PingMessage;

// Server -> client, text.
export interface PresenceClient {
  client_id: string;
  user_id: number | null;
  name: string;
  color: string;
  role: Role;
}
export interface HelloMessage {
  type: "hello";
  v: number;
  client_id: string;
  role: Role;
  user: { id: number | null; name: string };
  board: { id: string; title: string; link_access: string };
  head_seq: number;
  limits: Limits;
  presence: PresenceClient[];
}
export type SyncedMessage = { type: "synced"; seq: number };
export type PresenceMessage = { type: "presence"; clients: PresenceClient[] };
/** Sent instead of `presence` to sockets that asked for `presence=delta` (protocol §2.4). */
export type PresenceDeltaMessage = { type: "presence_delta"; set: PresenceClient[]; gone: string[] };
export type BoardMetaMessage = { type: "board"; title: string; link_access: string };
export type ErrorCode =
  | "bad_frame"
  | "bad_message"
  | "unknown_type"
  | "too_large"
  | "invalid_op"
  | "board_full"
  | "read_only"
  | "rate_limited"
  | "unavailable"
  | "client_id_taken";
export type ErrorMessage = {
  type: "error";
  code: ErrorCode;
  message: string;
  ids?: number[];
  field?: string;
};
export type PongMessage = { type: "pong"; t: string | number | boolean | null };
export type ServerText =
  | HelloMessage
  | SyncedMessage
  | PresenceMessage
  | PresenceDeltaMessage
  | BoardMetaMessage
  | ErrorMessage
  | PongMessage;

export type ServerMessage = ServerBinary | ServerText;
export type ClientMessage = ClientBinary | ClientText;

/** Raised for a frame the client cannot understand; the caller logs it and carries on. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
}

const SERVER_BINARY_TYPES = new Set(["ops", "ack", "snap", "cur", "tent", "tdrop"]);
const SERVER_TEXT_TYPES = new Set(["hello", "synced", "presence", "presence_delta", "board", "error", "pong"]);
const CLIENT_BINARY_TYPES = new Set(["ops", "cur"]);
const CLIENT_TEXT_TYPES = new Set(["resync", "presence", "ping"]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Encode a client message: binary kinds to msgpack bytes, control kinds to a JSON string. */
export function encode(message: ClientMessage): Uint8Array | string {
  if (!("type" in message)) return mpEncode(message);
  return JSON.stringify(message);
}

/** Decode a server frame (ArrayBuffer/Uint8Array = msgpack, string = JSON). */
export function decode(frame: ArrayBuffer | Uint8Array | string): ServerMessage {
  if (typeof frame === "string") {
    let value: unknown;
    try {
      value = JSON.parse(frame);
    } catch (err) {
      throw new ProtocolError(`undecodable JSON frame: ${String(err)}`);
    }
    if (!isRecord(value) || typeof value.type !== "string") {
      throw new ProtocolError("text frame is not an object with a string `type`");
    }
    if (!SERVER_TEXT_TYPES.has(value.type)) throw new ProtocolError(`unknown type ${value.type}`);
    return value as unknown as ServerText;
  }
  const bytes = frame instanceof Uint8Array ? frame : new Uint8Array(frame);
  let value: unknown;
  try {
    value = mpDecode(bytes, { useBigInt64: false });
  } catch (err) {
    throw new ProtocolError(`undecodable msgpack frame: ${String(err)}`);
  }
  if (!isRecord(value) || typeof value.t !== "string") {
    throw new ProtocolError("binary frame is not a map with a string `t`");
  }
  if (!SERVER_BINARY_TYPES.has(value.t)) throw new ProtocolError(`unknown t ${value.t}`);
  return value as unknown as ServerBinary;
}

/** Whether `kind` names a known message for a direction (used by the golden-fixture tests). */
export function isKnownType(direction: "c2s" | "s2c", binary: boolean, kind: string): boolean {
  if (direction === "c2s") return (binary ? CLIENT_BINARY_TYPES : CLIENT_TEXT_TYPES).has(kind);
  return (binary ? SERVER_BINARY_TYPES : SERVER_TEXT_TYPES).has(kind);
}

/** Decode a client frame; the server's half of the codec, used by tests and tools. */
export function decodeClient(frame: Uint8Array | string): ClientMessage {
  const value: unknown = typeof frame === "string" ? JSON.parse(frame) : mpDecode(frame);
  if (!isRecord(value)) throw new ProtocolError("frame is not a map");
  return value as unknown as ClientMessage;
}

/** Encode a server message the way the server does; for tests and fakes. */
export function encodeServer(message: ServerMessage): Uint8Array | string {
  if (!("type" in message)) return mpEncode(message);
  return JSON.stringify(message);
}
