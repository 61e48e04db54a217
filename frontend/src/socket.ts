/**
 * The WebSocket connection: reconnect with exponential backoff and jitter, app-level pings,
 * close-code handling (docs/protocol.md §7) and an honest connection status.
 *
 * It knows nothing about ops: frames go to `onFrame`, lifecycle to `onOpen`/`onClose`.
 */
import { CloseCode, encode, PROTOCOL_VERSION } from "./protocol";

/** First retry delay ceiling (ms); doubles per failed attempt up to BACKOFF_MAX_MS. */
export const BACKOFF_BASE_MS = 500;
/** Longest wait between attempts (ms): long enough not to hammer, short enough to feel alive. */
export const BACKOFF_MAX_MS = 15_000;
/** Jitter window for "reconnect at once" codes (1012, 4005), so a drained pod's clients spread out. */
export const RESTART_JITTER_MS = 1_000;
/** "Try at once" (focus, visibility, the Retry button) at most this often (ms), so a user
 *  flicking between windows does not hammer a server that is still down. */
export const RETRY_NOW_GAP_MS = 1_000;
/** Ping interval (ms); proxies commonly cut idle sockets after 60 s. */
export const PING_INTERVAL_MS = 15_000;
/** No frame at all for this long (ms, > 2 pings) means the connection is dead. */
export const DEAD_AFTER_MS = 35_000;

export type ConnectionStatus =
  | { kind: "connecting" }
  | { kind: "connected" }
  | { kind: "reconnecting"; at: number; reason?: string }
  | { kind: "offline" }
  | { kind: "fatal"; code: number; message: string }
  | { kind: "unauthenticated" };

export interface SocketHandlers {
  url(): string;
  onOpen(send: (frame: Uint8Array | string) => void): void;
  onFrame(data: ArrayBuffer | string): void;
  onClose(): void;
  onStatus(status: ConnectionStatus): void;
}

/** Full-jitter exponential backoff: uniform in [0, min(max, base * 2^attempt)], at least 100 ms. */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return Math.max(100, Math.floor(random() * ceiling));
}

/**
 * Whether to skip the backoff wait and connect now: only while waiting to reconnect (not
 * connecting or connected, not after a final close, not offline), and not twice within
 * RETRY_NOW_GAP_MS. The backoff exists for a server that is down; a page regaining focus is a
 * user looking at it, and the server may well be back (issue 17: 11.3 s to notice it was).
 */
export function canRetryNow(status: ConnectionStatus, lastAttemptAt: number, now: number): boolean {
  return status.kind === "reconnecting" && now - lastAttemptAt >= RETRY_NOW_GAP_MS;
}

const FATAL_MESSAGES: Record<number, string> = {
  [CloseCode.PROTOCOL_ERROR]: "This page is out of date: reload to upgrade.",
  // 4003 only comes to a socket that was admitted: the role was taken away meanwhile.
  [CloseCode.FORBIDDEN]: "Your access to this board was removed.",
  // The server does not tell "no such board" from "no access" (docs/protocol.md §1).
  [CloseCode.NOT_FOUND]: "This board does not exist (or was deleted), or you have no access to it.",
  [CloseCode.MESSAGE_TOO_BIG]: "The client sent a frame that was too big.",
  [CloseCode.NORMAL]: "The server closed the connection.",
  // Another socket holds this tab's client id (a copied tab without Web Locks, a second
  // connection of the same writer): reconnecting with it would take it back, in a loop. The
  // board page forgets the id, so the reload this asks for starts as a new writer.
  [CloseCode.CLIENT_REPLACED]: "This board was opened elsewhere as this tab. Reload to continue here.",
};

/** What the client does after a close, by code (docs/protocol.md §7). */
export type CloseAction =
  | { kind: "fatal"; message: string }
  | { kind: "unauthenticated" }
  | { kind: "jitter" }
  | { kind: "backoff"; reason?: string };

export function closeAction(code: number): CloseAction {
  // 4001 also means the credential that opened the socket was revoked (signed out elsewhere,
  // password changed): the session cookie no longer admits, so it is the sign-in page.
  if (code === CloseCode.UNAUTHENTICATED) return { kind: "unauthenticated" };
  if (code in FATAL_MESSAGES) return { kind: "fatal", message: FATAL_MESSAGES[code] };
  if (code === CloseCode.SERVICE_RESTART || code === CloseCode.ROLE_CHANGED) return { kind: "jitter" };
  if (code === CloseCode.TOO_MANY_SOCKETS) {
    // Refused at admission: this account has too many sockets open. Retrying with backoff
    // gets in once other tabs or clients close theirs.
    return { kind: "backoff", reason: "Too many open connections (close other tabs)" };
  }
  // 4008 too_slow, 4029 rate_limited, 1006 abnormal and the rest: back off.
  return { kind: "backoff" };
}

export class ReconnectManager {
  private ws: WebSocket | null = null;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private lastFrameAt = 0;
  private lastAttemptAt = 0;
  private stopped = false;
  status: ConnectionStatus = { kind: "connecting" };

  constructor(private readonly h: SocketHandlers) {
    window.addEventListener("offline", () => this.goOffline());
    window.addEventListener("online", () => this.connectNow());
    window.addEventListener("focus", () => this.retryNow());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.retryNow();
    });
  }

  start(): void {
    this.stopped = false;
    if (!navigator.onLine) return this.goOffline();
    this.open();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
    this.ws?.close(CloseCode.NORMAL);
  }

  /** Drop this connection and open a new one with the usual backoff (its state is suspect). */
  reconnect(): void {
    this.ws?.close();
  }

  /** Skip the rest of the backoff wait (the page regained focus, or the user asked). */
  retryNow(): void {
    if (this.stopped || this.ws || !navigator.onLine) return;
    if (!canRetryNow(this.status, this.lastAttemptAt, Date.now())) return;
    // `attempt` is kept: should the server still be down, the next wait is no shorter.
    this.open();
  }

  /** The session is live (synced): later failures start the backoff from scratch. */
  markHealthy(): void {
    this.attempt = 0;
  }

  private setStatus(status: ConnectionStatus): void {
    this.status = status;
    this.h.onStatus(status);
  }

  private open(): void {
    this.clearTimers();
    this.lastAttemptAt = Date.now();
    this.setStatus({ kind: "connecting" });
    const ws = new WebSocket(this.h.url());
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.lastFrameAt = Date.now();
      this.setStatus({ kind: "connected" });
      this.pingTimer = setInterval(() => this.ping(), PING_INTERVAL_MS);
      this.h.onOpen((frame) => {
        // msgpack's Uint8Array is never backed by a SharedArrayBuffer; DOM typings want that said.
        if (ws.readyState === WebSocket.OPEN) ws.send(frame as Uint8Array<ArrayBuffer> | string);
      });
    };
    ws.onmessage = (event: MessageEvent<ArrayBuffer | string>) => {
      if (ws !== this.ws) return;
      this.lastFrameAt = Date.now();
      this.h.onFrame(event.data);
    };
    ws.onclose = (event) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.clearTimers();
      this.h.onClose();
      this.afterClose(event.code);
    };
  }

  private ping(): void {
    if (Date.now() - this.lastFrameAt > DEAD_AFTER_MS) {
      // Half-open TCP: nothing came back for two pings. Drop it and reconnect.
      this.ws?.close();
      return;
    }
    if (this.ws?.readyState === WebSocket.OPEN) {
      this.ws.send(encode({ type: "ping", t: Date.now() }) as string);
    }
  }

  private afterClose(code: number): void {
    if (this.stopped) return;
    if (!navigator.onLine) return this.goOffline();
    const action = closeAction(code);
    switch (action.kind) {
      case "unauthenticated":
        return this.setStatus({ kind: "unauthenticated" });
      case "fatal":
        return this.setStatus({ kind: "fatal", code, message: action.message });
      case "jitter":
        return this.retryIn(Math.floor(Math.random() * RESTART_JITTER_MS));
      case "backoff":
        this.retryIn(backoffDelay(this.attempt), action.reason);
        this.attempt += 1;
    }
  }

  private retryIn(delayMs: number, reason?: string): void {
    this.setStatus({ kind: "reconnecting", at: Date.now() + delayMs, reason });
    this.retryTimer = setTimeout(() => this.open(), delayMs);
  }

  private goOffline(): void {
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.close();
      this.h.onClose();
    }
    if (!this.stopped) this.setStatus({ kind: "offline" });
  }

  private connectNow(): void {
    if (this.stopped || this.ws) return;
    this.attempt = 0;
    this.open();
  }

  private clearTimers(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.retryTimer = null;
    this.pingTimer = null;
  }
}

/**
 * The board socket's URL on this page's host (protocol §1): protocol v2, presence as deltas, and
 * others' ops before their commit (§2.6).
 */
export function boardSocketUrl(
  boardId: string,
  { clientId, since, share }: { clientId: string; since: number; share: string | null },
): string {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const q = new URLSearchParams({
    v: String(PROTOCOL_VERSION),
    since: String(since),
    client_id: clientId,
    presence: "delta",
    tentative: "2", // compact tentatives and their promotion (§2.6); v2 only, as PROTOCOL_VERSION
  });
  if (share) q.set("share", share);
  return `${proto}//${location.host}/ws/boards/${encodeURIComponent(boardId)}/?${q}`;
}
