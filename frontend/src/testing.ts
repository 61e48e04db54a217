/**
 * Test helpers: an in-memory KeyValueStore (localStorage stand-in), element builders, a live
 * SyncClient and the server's reading of client frames.
 */
import { vi } from "vitest";
import { decodeUpAdd, decodeUpApp, decodeUpNext, UP_ADD, UP_APP, UP_NEXT } from "./compact";
import { Outbox, type KeyValueStore } from "./outbox";
import {
  decodeClient,
  DEFAULT_LIMITS,
  type Element,
  type HelloMessage,
  type Op,
  type Style,
} from "./protocol";
import { SyncClient } from "./sync";
import type { TabLocks } from "./tabs";

export class MemoryStore implements KeyValueStore {
  readonly data = new Map<string, string>();
  get length(): number {
    return this.data.size;
  }
  key(index: number): string | null {
    return [...this.data.keys()][index] ?? null;
  }
  getItem(key: string): string | null {
    return this.data.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.data.set(key, value);
  }
  removeItem(key: string): void {
    this.data.delete(key);
  }
}

/**
 * Web Locks as the tabs of one browser profile share them: exclusive, granted in request order,
 * released by the holder (a page's end releases its locks; tests call the release function).
 */
export class FakeLocks implements TabLocks {
  readonly holders = new Set<string>();
  private readonly queues = new Map<string, (() => void)[]>();

  async take(name: string, waitMs = 0): Promise<(() => void) | null> {
    if (!this.holders.has(name)) return this.grant(name);
    if (waitMs <= 0) return null;
    return new Promise((resolve) => {
      const queue = this.queues.get(name) ?? [];
      this.queues.set(name, queue);
      const granted = () => {
        clearTimeout(timer);
        resolve(this.grant(name));
      };
      const timer = setTimeout(() => {
        queue.splice(queue.indexOf(granted), 1);
        resolve(null);
      }, waitMs);
      queue.push(granted);
    });
  }

  async held(): Promise<Set<string>> {
    return new Set(this.holders);
  }

  private grant(name: string): () => void {
    this.holders.add(name);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holders.delete(name);
      this.queues.get(name)?.shift()?.();
    };
  }
}

/** The `hello` of client "me", an editor on board "b" at seq 0, on v2. */
export const HELLO: HelloMessage = {
  type: "hello",
  v: 2,
  client_id: "me",
  role: "editor",
  user: { id: 1, name: "ann" },
  board: { id: "b", title: "B", link_access: "none" },
  head_seq: 0,
  limits: { ...DEFAULT_LIMITS },
  presence: [],
};

/** A SyncClient past `hello` (HELLO) and `synced` at seq 0, and the frames it sends. */
export function liveSyncClient(): { client: SyncClient; sent: unknown[] } {
  const sent: unknown[] = [];
  const client = new SyncClient(new Outbox(new MemoryStore(), "b", "me"), {
    change: vi.fn(),
    message: vi.fn(),
    session: vi.fn(),
  });
  client.attach((f) => sent.push(f));
  client.handle(HELLO);
  client.handle({ type: "synced", seq: 0 });
  return { client, sent };
}

export const STYLE = { color: "#1e1e1e", width: 4, opacity: 1, fill: null };

export function stroke(id: string, x = 0, y = 0, p = [0, 0]): Element {
  return { id, type: "stroke", x, y, style: { ...STYLE }, p };
}

export function rect(id: string, x = 0, y = 0, w = 10, h = 10): Element {
  return { id, type: "rect", x, y, w, h, style: { ...STYLE } };
}

/**
 * The server's reading of one connection's binary client frames (docs/protocol.md §2.5): v1
 * `ops` frames as they are, UP_ADD frames as stroke `add` ops ("" style: the previous UP_ADD's),
 * UP_APP frames as `app` ops on the connection's current stroke, which it tracks in frame order
 * like the server, and UP_NEXT frames as UP_APP's op numbered after the last op read. Make one
 * per connection.
 */
export class ServerReader {
  currentStroke: string | null = null;
  lastI: number | null = null;
  /** The style of the connection's last UP_ADD (what "" stands for). */
  style: unknown = null;
  /** How each UP_ADD came: true if its style was "" (the previous one). */
  readonly repeatedStyles: boolean[] = [];

  read(frame: Uint8Array): Op[] {
    const ops = this.decode(frame);
    if (ops.length > 0) this.lastI = ops[ops.length - 1].i;
    return ops;
  }

  private decode(frame: Uint8Array): Op[] {
    if (frame[0] === UP_APP || frame[0] === UP_NEXT) {
      if (this.currentStroke === null) throw new Error("UP_APP before any stroke on this connection");
      if (frame[0] === UP_NEXT && this.lastI === null) throw new Error("UP_NEXT before any op on this connection");
      const { i, p, pr } =
        frame[0] === UP_APP
          ? decodeUpApp(frame, DEFAULT_LIMITS.max_points_per_op)
          : { i: (this.lastI as number) + 1, ...decodeUpNext(frame, DEFAULT_LIMITS.max_points_per_op), pr: undefined };
      return [{ i, k: "app", id: this.currentStroke, p, ...(pr ? { pr } : {}) }];
    }
    if (frame[0] === UP_ADD) {
      const up = decodeUpAdd(frame, DEFAULT_LIMITS.max_points_per_op);
      this.repeatedStyles.push(up.style === null);
      if (up.style === null) {
        if (this.style === null) throw new Error("UP_ADD repeats a style before any on this connection");
      } else this.style = up.style;
      this.currentStroke = up.id;
      // A copy per op, as the server makes: states must not share a style object.
      const style = structuredClone(this.style) as Style;
      const el: Element = { id: up.id, type: "stroke", x: up.x, y: up.y, style, p: up.p, ...(up.pr ? { pr: up.pr } : {}) };
      return [{ i: up.i, k: "add", el }];
    }
    const msg = decodeClient(frame);
    if ("type" in msg || msg.t !== "ops") return [];
    for (const op of msg.ops) {
      if (op.k === "app") this.currentStroke = op.id;
      else if (op.k === "add" && op.el.type === "stroke") this.currentStroke = op.el.id;
    }
    return msg.ops;
  }
}
