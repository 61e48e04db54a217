/**
 * The outbox: one writer's unacked ops, persisted so a page reload resends them.
 *
 * A writer is one client id: one browser tab (tabs.ts hands the ids out and adopts the outboxes
 * of closed tabs). Stored in localStorage, one key per op (`inkroom:v1:ob:<board>:<client>:<i>`),
 * so adding or acking an op costs O(1) whatever the backlog: one big JSON array would be
 * rewritten on every op, O(n^2) over a long offline session. IndexedDB was turned down because
 * its writes are asynchronous: an op drawn just before a reload could be lost between the stroke
 * and the commit. The op-id counter (`inkroom:v1:next:<board>:<client>`) is persisted next to
 * it, so ids stay unique and increasing across reloads (the server de-duplicates on
 * (client_id, i)); it also registers the id: an id without a counter is retired for good.
 */
import type { Op } from "./protocol";

/** The subset of the Web Storage API the outbox needs (tests pass an in-memory one). */
export interface KeyValueStore {
  readonly length: number;
  key(index: number): string | null;
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Every key this client keeps in Web Storage starts with it. */
export const PREFIX = "inkroom:v1";
const CLIENT_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/** 16 chars of 62 symbols ≈ 95 bits: collisions between a board's clients are not a concern. */
const CLIENT_ID_LENGTH = 16;

export function newClientId(): string {
  const bytes = new Uint8Array(CLIENT_ID_LENGTH);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => CLIENT_ID_CHARS[b % CLIENT_ID_CHARS.length]).join("");
}

/** What a client id may look like (docs/protocol.md §1); anything else is not ours. */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;

function counterKey(boardId: string, clientId: string): string {
  return `${PREFIX}:next:${boardId}:${clientId}`;
}

/**
 * Register `clientId` as a writer on `boardId` (its counter, at 0 unless it has one). Only a
 * registered id is ever reused after a reload; false when storage refused the write.
 */
export function registerWriter(store: KeyValueStore, boardId: string, clientId: string): boolean {
  const key = counterKey(boardId, clientId);
  return store.getItem(key) !== null || safeSet(store, key, "0");
}

export function isRegistered(store: KeyValueStore, boardId: string, clientId: string): boolean {
  return store.getItem(counterKey(boardId, clientId)) !== null;
}

/** Every client id with a counter or an unacked op on `boardId` in this store. */
export function writersOf(store: KeyValueStore, boardId: string): Set<string> {
  const ops = `${PREFIX}:ob:${boardId}:`;
  const counters = `${PREFIX}:next:${boardId}:`;
  const ids = new Set<string>();
  for (let n = 0; n < store.length; n++) {
    const key = store.key(n);
    let id: string | null = null;
    if (key?.startsWith(ops)) id = key.slice(ops.length, key.lastIndexOf(":"));
    else if (key?.startsWith(counters)) id = key.slice(counters.length);
    if (id !== null && CLIENT_ID_PATTERN.test(id)) ids.add(id);
  }
  return ids;
}

function safeSet(store: KeyValueStore, key: string, value: string): boolean {
  try {
    store.setItem(key, value);
    return true;
  } catch (err) {
    // Quota exceeded or storage disabled: the op stays in memory and is still sent; only
    // surviving a reload is lost. Say so rather than failing the stroke.
    console.warn("inkroom: outbox not persisted", err);
    return false;
  }
}

export class Outbox {
  private readonly ops = new Map<number, Op>();
  private readonly opPrefix: string;
  private readonly counterKey: string;
  private lastId: number;

  constructor(
    private readonly store: KeyValueStore,
    private readonly boardId: string,
    readonly clientId: string,
  ) {
    this.opPrefix = `${PREFIX}:ob:${boardId}:${clientId}:`;
    this.counterKey = counterKey(boardId, clientId);
    this.lastId = Number(store.getItem(this.counterKey) ?? 0) || 0;
    this.load();
  }

  private load(): void {
    const keys: string[] = [];
    for (let n = 0; n < this.store.length; n++) {
      const key = this.store.key(n);
      if (key?.startsWith(this.opPrefix)) keys.push(key);
    }
    for (const key of keys) {
      const raw = this.store.getItem(key);
      if (raw === null) continue;
      try {
        const op = JSON.parse(raw) as Op;
        this.ops.set(op.i, op);
        this.lastId = Math.max(this.lastId, op.i);
      } catch {
        this.store.removeItem(key);
      }
    }
  }

  /** The next client op id: unique and increasing for this client id, across reloads. */
  nextId(): number {
    this.lastId += 1;
    safeSet(this.store, this.counterKey, String(this.lastId));
    return this.lastId;
  }

  push(op: Op): void {
    this.ops.set(op.i, op);
    safeSet(this.store, this.opPrefix + op.i, JSON.stringify(op));
  }

  /** Forget op `i`: it is durable (acked or seen in the log) or was rejected. */
  remove(i: number): boolean {
    if (!this.ops.delete(i)) return false;
    this.store.removeItem(this.opPrefix + i);
    return true;
  }

  has(i: number): boolean {
    return this.ops.has(i);
  }

  get(i: number): Op | undefined {
    return this.ops.get(i);
  }

  get size(): number {
    return this.ops.size;
  }

  /**
   * Forget this writer for good once its outbox is empty: its counter goes, so a tab that still
   * names the id (a reload, a restored tab) takes a new one instead of counting from 1 again,
   * where the server would take its new ops for resends of the old ones. False if ops remain.
   */
  retire(): boolean {
    if (this.ops.size > 0) return false;
    this.store.removeItem(this.counterKey);
    return true;
  }

  /**
   * Start over as writer `clientId`, a fresh id (the server answered `client_id_taken`: someone
   * stored other ops under this one while we were away, protocol §1). Every unacked op moves to
   * it with its `i` (new under the new id), its counter goes on from ours, and this id is
   * retired. Returns the new writer's outbox.
   */
  moveTo(clientId: string): Outbox {
    safeSet(this.store, counterKey(this.boardId, clientId), String(this.lastId));
    const next = new Outbox(this.store, this.boardId, clientId);
    for (const op of this.list()) {
      next.push(op);
      this.remove(op.i);
    }
    this.retire();
    return next;
  }

  /** Unacked ops in `i` order, the order they must be (re)sent in. */
  list(): Op[] {
    return [...this.ops.values()].sort((a, b) => a.i - b.i);
  }
}
