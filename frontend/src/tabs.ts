/**
 * One writer per browser tab (design brief, invariant 10): a client id names one writer with one
 * op counter, because the server de-duplicates ops on (client_id, i). Two tabs sharing an id
 * each count from their own counter, so the second tab's ops were stored as "resends" of the
 * first's, that is dropped (issue 14, bug 3).
 *
 * * A tab keeps its id in sessionStorage, so a reload of the tab keeps it (and resends its
 *   outbox). A tab opened by duplicating another or by window.open() starts with a copy of that
 *   sessionStorage, so the id is also leased: the tab holds the Web Lock `inkroom:client:<id>`
 *   for its lifetime, and a tab that cannot get it mints a new id.
 * * An id is reused only while it is registered (its op counter is in localStorage, outbox.ts).
 * * A closed tab leaves its outbox behind with its lock free. Another tab adopts it: it takes the
 *   lock, resends the ops under the closed tab's id on a short-lived socket of its own (they may
 *   be stored already: only that id keeps the resend idempotent), and once the outbox is empty
 *   retires the id (drops its counter). The lock makes that one tab at a time; retiring makes it
 *   once, and stops a restored tab from counting the retired id from 1 again.
 * * A reload frees the lock for a moment, so an id counts as orphaned only when it was free on two
 *   scans in a row; a reload that loses that race anyway just gets a new id (nothing is lost).
 * * Without Web Locks (insecure contexts, old browsers) each tab still has its own id in
 *   sessionStorage, but a duplicated tab shares its opener's and nothing is adopted.
 */
import {
  CLIENT_ID_PATTERN,
  isRegistered,
  newClientId,
  Outbox,
  PREFIX,
  registerWriter,
  writersOf,
  type KeyValueStore,
} from "./outbox";
import { stateFromElements } from "./ops";
import { CloseCode } from "./protocol";
import { SyncClient, type Frame } from "./sync";

/** How often a tab looks for outboxes of closed tabs (ms); adoption takes two scans. */
export const ORPHAN_SCAN_MS = 2_500;
/** Longest wait for the own id's lock after a reload (ms): the replaced page may still hold it. */
export const RELOAD_WAIT_MS = 3_000;
/** An adoption that has not emptied the outbox by then gives up, to retry later (ms). */
export const DELIVERY_TIMEOUT_MS = 15_000;
/** Longest pause between two adoption attempts of an outbox that failed to go out (ms). */
export const ADOPT_BACKOFF_MAX_MS = 60_000;

export function lockName(clientId: string): string {
  return `inkroom:client:${clientId}`;
}

/** The exclusive leases this module needs: Web Locks in the browser, a fake in unit tests. */
export interface TabLocks {
  /**
   * Take lock `name`: at once if free, else wait up to `waitMs` (0: do not wait). Resolves to its
   * release function, or null when another holder kept it.
   */
  take(name: string, waitMs?: number): Promise<(() => void) | null>;
  /** Names of the locks held right now, by any tab of this origin. */
  held(): Promise<Set<string>>;
}

export function webLocks(locks: LockManager): TabLocks {
  return {
    take(name, waitMs = 0) {
      return new Promise((resolve) => {
        let release!: () => void;
        const holding = new Promise<void>((done) => (release = done));
        const abort = new AbortController();
        const timer = waitMs > 0 ? setTimeout(() => abort.abort(), waitMs) : null;
        const options: LockOptions = waitMs > 0 ? { signal: abort.signal } : { ifAvailable: true };
        locks
          .request(name, options, (lock) => {
            if (timer !== null) clearTimeout(timer);
            if (!lock) return resolve(null);
            resolve(release);
            return holding;
          })
          .catch(() => resolve(null)); // AbortError: the wait timed out
      });
    },
    async held() {
      const snapshot = await locks.query();
      return new Set((snapshot.held ?? []).map((lock) => lock.name ?? ""));
    },
  };
}

/** Web Locks where the browser has them: they exist only in secure contexts (https, localhost). */
export function browserLocks(): TabLocks | null {
  const locks = (navigator as { locks?: LockManager }).locks;
  return locks && typeof locks.request === "function" ? webLocks(locks) : null;
}

/** Whether this page load reloads the tab (then the page it replaces may still hold our lock). */
export function isReload(): boolean {
  const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming | undefined;
  return nav?.type === "reload";
}

export interface TabClaim {
  clientId: string;
  /** Whether the id is leased (its lock held); false without Web Locks. */
  leased: boolean;
  /** Give the id up (the page's end does it anyway). */
  release(): void;
}

export interface ClaimOptions {
  boardId: string;
  local: KeyValueStore;
  session: KeyValueStore;
  locks: TabLocks | null;
  reloaded: boolean;
  mint?: () => string;
  reloadWaitMs?: number;
}

/** This tab's client id on `boardId`: the one it had before a reload if it is still ours. */
export async function claimClientId(o: ClaimOptions): Promise<TabClaim> {
  const key = `${PREFIX}:tab:${o.boardId}`;
  const mint = o.mint ?? newClientId;
  // Before ids were per tab, one per board lived here. Its outbox and counter stay, and are
  // adopted like a closed tab's.
  o.local.removeItem(`${PREFIX}:client:${o.boardId}`);
  const stored = o.session.getItem(key);
  const previous = stored !== null && CLIENT_ID_PATTERN.test(stored) && isRegistered(o.local, o.boardId, stored) ? stored : null;
  const keep = (clientId: string, release: (() => void) | null): TabClaim => {
    registerWriter(o.local, o.boardId, clientId);
    try {
      o.session.setItem(key, clientId);
    } catch {
      // Without sessionStorage a reload takes a new id; the old outbox is adopted as an orphan.
    }
    return { clientId, leased: release !== null, release: release ?? (() => {}) };
  };
  const locks = o.locks;
  if (!locks) return keep(previous ?? mint(), null);
  if (previous !== null) {
    let release = await locks.take(lockName(previous));
    if (!release && o.reloaded) release = await locks.take(lockName(previous), o.reloadWaitMs ?? RELOAD_WAIT_MS);
    // While we waited, a tab may have adopted the outbox and retired the id.
    if (release && isRegistered(o.local, o.boardId, previous)) return keep(previous, release);
    release?.();
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    const clientId = mint();
    const release = await locks.take(lockName(clientId));
    if (release) return keep(clientId, release);
  }
  // Nobody else can hold a fresh random id's lock: the lock manager is broken, so do without.
  return keep(mint(), null);
}

/**
 * Stop reusing this tab's id on `boardId` (the server closed its socket 4010: another socket
 * holds the id): the next page load of the tab takes a fresh one. The outbox stays with the id,
 * for its holder or, once that is gone, for adoption.
 */
export function forgetTabId(session: KeyValueStore, boardId: string): void {
  session.removeItem(`${PREFIX}:tab:${boardId}`);
}

/**
 * Start this tab over as a new writer on `boardId`: the server answered `client_id_taken`
 * (someone stored other ops under the tab's id while it was away, protocol §1). A fresh id is
 * claimed like a new tab's (leased, registered, kept for reloads), takes every unacked op of
 * `outbox` and retires the old id (Outbox.moveTo). Resolves to the new writer's outbox: the
 * caller writes with it (SyncClient.switchWriter) and reconnects, which resends the ops.
 */
export async function startOver(o: ClaimOptions & { outbox: Outbox }): Promise<Outbox> {
  forgetTabId(o.session, o.boardId);
  const claim = await claimClientId({ ...o, reloaded: false });
  return o.outbox.moveTo(claim.clientId);
}

export interface AdopterOptions {
  store: KeyValueStore;
  locks: TabLocks;
  boardId: string;
  /** This tab's own id, never adopted. */
  ownId: string;
  /** Send `outbox`'s ops as its client id; done when it is empty or the attempt failed. */
  deliver(outbox: Outbox): Promise<unknown>;
  now?: () => number;
}

/**
 * Finds the outboxes of closed tabs on one board and delivers each, one tab at a time.
 * Call `scan` every ORPHAN_SCAN_MS while the tab's own connection is live.
 */
export class OrphanAdopter {
  /** Ids whose lock was free at the last scan: orphans if it still is at this one. */
  private suspects = new Set<string>();
  private readonly backoff = new Map<string, { at: number; failures: number }>();
  private busy = false;

  constructor(private readonly o: AdopterOptions) {}

  /** One scan; resolves to the ids it adopted and retired. */
  async scan(): Promise<string[]> {
    if (this.busy) return [];
    this.busy = true;
    try {
      return await this.adoptDue();
    } finally {
      this.busy = false;
    }
  }

  private async adoptDue(): Promise<string[]> {
    const { store, locks, boardId, ownId } = this.o;
    const now = (this.o.now ?? Date.now)();
    const writers = writersOf(store, boardId);
    writers.delete(ownId);
    if (writers.size === 0) {
      this.suspects.clear();
      return [];
    }
    const held = await locks.held();
    const free = [...writers].filter((id) => !held.has(lockName(id)));
    const due = free.filter((id) => this.suspects.has(id) && (this.backoff.get(id)?.at ?? 0) <= now);
    this.suspects = new Set(free);
    const adopted: string[] = [];
    for (const id of due) {
      const release = await locks.take(lockName(id));
      if (!release) continue; // its tab came back (a reload) or another tab adopts it
      try {
        const outbox = new Outbox(store, boardId, id);
        if (outbox.size > 0) await this.o.deliver(outbox);
        if (outbox.retire()) {
          adopted.push(id);
          this.suspects.delete(id);
          this.backoff.delete(id);
        } else {
          this.failed(id, now);
        }
      } catch (err) {
        console.warn("inkroom: adopting a closed tab's outbox failed", err);
        this.failed(id, now);
      } finally {
        release();
      }
    }
    return adopted;
  }

  private failed(id: string, now: number): void {
    const failures = (this.backoff.get(id)?.failures ?? 0) + 1;
    const wait = Math.min(ADOPT_BACKOFF_MAX_MS, ORPHAN_SCAN_MS * 2 ** failures);
    this.backoff.set(id, { at: now + wait, failures });
  }
}

export interface ConnectionHandlers {
  open(send: (frame: Frame) => void): void;
  frame(data: ArrayBuffer | string): void;
  close(): void;
}

/** Opens one socket to `url`; returns how to close it. */
export type Connect = (url: string, h: ConnectionHandlers) => { close(): void };

export const webSocketConnect: Connect = (url, h) => {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  ws.onopen = () =>
    h.open((frame) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(frame as Uint8Array<ArrayBuffer> | string);
    });
  ws.onmessage = (event: MessageEvent<ArrayBuffer | string>) => h.frame(event.data);
  ws.onclose = () => h.close();
  return { close: () => ws.close(CloseCode.NORMAL) };
};

export interface DeliveryOptions {
  /** The socket URL for `outbox.clientId`, catching up from `since`. */
  url: string;
  /** A seq the board has reached (the adopting tab's): catch-up starts there, not at 0. */
  since: number;
  connect?: Connect;
  timeoutMs?: number;
  /** A fresh client id, should the outbox have to move (`client_id_taken`). */
  mint?: () => string;
}

/**
 * Resend an adopted outbox on a connection of its own client id, with the usual sync rules
 * (ops after `synced`, in `i` order, dropped when acked, seen in the log or refused). Resolves
 * to whether the outbox was emptied; the board state it catches up is thrown away.
 */
export function deliverOutbox(outbox: Outbox, o: DeliveryOptions): Promise<boolean> {
  const mint = o.mint ?? newClientId;
  return new Promise((resolve) => {
    let done = false;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let conn: { close(): void } | null = null;
    const finish = () => {
      if (done) return;
      done = true;
      if (timer !== null) clearTimeout(timer);
      conn?.close();
      resolve(outbox.size === 0);
    };
    const sync = new SyncClient(outbox, {
      change: () => {
        if (outbox.size === 0) finish();
      },
      message: (msg) => {
        if (!("type" in msg) || msg.type !== "error" || msg.code !== "client_id_taken") return;
        // Someone else wrote under the closed tab's id (protocol §1): its ops go to a fresh id,
        // an orphan like this one (its lock is free), delivered by a later scan.
        outbox.moveTo(mint());
        finish();
      },
      session: () => {},
    });
    // Only the seq matters: the ops caught up after it are applied to nothing and dropped.
    sync.confirmed = stateFromElements(o.since, []);
    timer = setTimeout(finish, o.timeoutMs ?? DELIVERY_TIMEOUT_MS);
    conn = (o.connect ?? webSocketConnect)(o.url, {
      open: (send) => sync.attach(send),
      frame: (data) => {
        try {
          sync.receive(data);
        } catch {
          finish();
        }
      },
      close: () => {
        sync.detach();
        finish();
      },
    });
    if (done) conn.close();
  });
}
