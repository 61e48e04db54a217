/**
 * Presence: who is on the board, their live cursors (throttled to `limits.cursor_ms`, never
 * stored) and "follow": mirroring another user's viewport from the `vp` their cursors carry.
 */
import type { CursorEntry, PresenceClient, ServerMessage, Viewport } from "./protocol";
import { LaserTrails } from "./canvas/laser";
import type { RemoteCursor } from "./canvas/render";
import type { SyncClient } from "./sync";

/** A cursor not updated for this long (ms) is hidden: its owner stopped moving or left. */
export const CURSOR_STALE_MS = 10_000;

/** Our own laser trail's key (client ids are longer, so it is never someone else's). */
const OWN_LASER = "self";

/** A cursor whose client is not (yet) in the presence list. */
const UNKNOWN_COLOR = "#868e96";

export const USER_COLORS = ["#e03131", "#2f9e44", "#1971c2", "#f08c00", "#9c36b5", "#0c8599", "#c2255c", "#5c940d"];

function hash(text: string): number {
  let h = 0;
  for (const ch of text) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return h;
}

/** The colour a client announces (protocol `presence`); what is shown is distinctColors'. */
export function colorFor(name: string): string {
  return USER_COLORS[hash(name) % USER_COLORS.length];
}

/** Who a presence entry is for colours: a signed-in user (all their tabs), or one guest tab. */
function person(c: PresenceClient): string {
  return c.user_id !== null ? `u${c.user_id}` : `g${c.client_id}`;
}

/**
 * The colour each client is shown in (by client id): distinct per person while the palette
 * lasts, and the same in every viewer's page, because it depends only on who is on the board.
 *
 * People take colours in a fixed order (signed-in users by id, then guests by client id), each
 * its preferred one (a hash of who it is) or, if taken, the next free one in the palette; past
 * the palette's size colours repeat. Assigned here rather than by the server: every viewer has
 * the same list, so the same answer follows without a board-wide registry across server
 * processes, and a colour announced by a client can no longer copy someone else's.
 */
export function distinctColors(clients: readonly PresenceClient[]): Map<string, string> {
  const people = [...new Set(clients.map(person))].sort((a, b) => {
    if (a[0] !== b[0]) return a[0] === "u" ? -1 : 1;
    return a[0] === "u" ? Number(a.slice(1)) - Number(b.slice(1)) : a < b ? -1 : a > b ? 1 : 0;
  });
  const taken = new Set<number>();
  const byPerson = new Map<string, string>();
  for (const key of people) {
    const preferred = hash(key) % USER_COLORS.length;
    let k = preferred;
    if (taken.size < USER_COLORS.length) {
      while (taken.has(k)) k = (k + 1) % USER_COLORS.length;
      taken.add(k);
    }
    byPerson.set(key, USER_COLORS[k]);
  }
  return new Map(clients.map((c) => [c.client_id, byPerson.get(person(c)) ?? USER_COLORS[0]]));
}

/**
 * How the presence list names a client. There is one entry per tab (each tab is a client), so
 * ours is "(you)" and the other tabs of the same signed-in user say so too; guests have no user
 * id, so their other tabs look like anyone else.
 */
export function presenceLabel(c: PresenceClient, ownClientId: string, ownUserId: number | null): string {
  if (c.client_id === ownClientId) return `${c.name} (you)`;
  if (ownUserId !== null && c.user_id === ownUserId) return `${c.name} (you, other tab)`;
  return guestMarked(c);
}

/**
 * The presence list after a `presence_delta`: entries in `set` replace (or join) those with their
 * client id, in place, and `gone` ids leave. Applying one twice gives the same list.
 */
export function applyPresenceDelta(
  clients: PresenceClient[],
  delta: { set: PresenceClient[]; gone: string[] },
): PresenceClient[] {
  const gone = new Set(delta.gone);
  const fresh = new Map(delta.set.map((c) => [c.client_id, c]));
  const out = clients.filter((c) => !gone.has(c.client_id)).map((c) => fresh.get(c.client_id) ?? c);
  const known = new Set(out.map((c) => c.client_id));
  for (const c of delta.set) if (!known.has(c.client_id) && !gone.has(c.client_id)) out.push(c);
  return out;
}

/**
 * A guest (a share-link holder who is not signed in: `user_id` null) picks any name, a
 * member's included, so others always see it marked.
 */
export function guestMarked(c: PresenceClient): string {
  return c.user_id === null && c.name !== "guest" ? `${c.name} (guest)` : c.name;
}

interface CursorState {
  x: number;
  y: number;
  vp: Viewport | null;
  at: number;
}

export class Presence {
  clients: PresenceClient[] = [];
  /** distinctColors of `colorsOf`, recomputed when the list changes. */
  private colors = new Map<string, string>();
  private colorsOf: PresenceClient[] | null = null;
  private readonly cursors = new Map<string, CursorState>();
  following: string | null = null;
  private lastSent = 0;
  private trailing: ReturnType<typeof setTimeout> | null = null;
  private latest: { x: number; y: number; vp: Viewport } | null = null;
  /** Everyone's laser trails, ours under OWN_LASER; whether our laser is down now. */
  readonly laser = new LaserTrails();
  private laserDown = false;

  constructor(
    private readonly sync: SyncClient,
    private readonly onChange: () => void,
    private readonly onFollow: (vp: Viewport) => void,
  ) {}

  /** Consume presence and cursor messages; returns whether `msg` was one. */
  handle(msg: ServerMessage): boolean {
    if (!("type" in msg) && msg.t === "cur") {
      const now = Date.now();
      for (const entry of msg.c) this.onCursor(entry, now);
      this.onChange();
      return true;
    }
    if ("type" in msg && (msg.type === "presence" || msg.type === "presence_delta")) {
      this.clients = msg.type === "presence" ? msg.clients : applyPresenceDelta(this.clients, msg);
      const live = new Set(this.clients.map((c) => c.client_id));
      for (const id of this.cursors.keys()) if (!live.has(id)) this.cursors.delete(id);
      if (this.following && !live.has(this.following)) this.following = null;
      this.onChange();
      return true;
    }
    return false;
  }

  private onCursor(entry: CursorEntry, now: number): void {
    const [id, x, y] = entry;
    if (id === this.sync.clientId) return;
    const vp = entry.length >= 4 ? entry[3] ?? null : null;
    if (entry.length === 5 && entry[4] === 1) this.laser.add(id, x, y, now);
    else this.laser.lift(id);
    this.cursors.set(id, { x, y, vp, at: now });
    if (id === this.following && vp) this.onFollow(vp);
  }

  /** Announce our name and colour (after every hello: presence lives with the socket). */
  announce(name: string): void {
    // At most 64 code points (protocol §2.3): slicing UTF-16 units could split an emoji and
    // leave a lone surrogate, which the server refuses.
    const short = Array.from(name).slice(0, 64).join("");
    this.sync.sendMessage({ type: "presence", name: short, color: colorFor(name) });
  }

  /** Report our cursor and viewport; sent at most once per `cursor_ms`, trailing edge kept. */
  moveCursor(x: number, y: number, vp: Viewport): void {
    this.latest = { x: Math.round(x), y: Math.round(y), vp };
    const wait = this.sync.limits.cursor_ms - (Date.now() - this.lastSent);
    if (wait <= 0) return this.flushCursor();
    if (this.trailing === null) this.trailing = setTimeout(() => this.flushCursor(), wait);
  }

  /** Our laser pointer at (x, y), down or released: our own trail, and cursors with `l: 1`. */
  pointLaser(x: number, y: number, down: boolean, vp: Viewport): void {
    if (down) this.laser.add(OWN_LASER, x, y, Date.now());
    else this.laser.lift(OWN_LASER);
    this.laserDown = down;
    this.moveCursor(x, y, vp);
  }

  private flushCursor(): void {
    if (this.trailing !== null) clearTimeout(this.trailing);
    this.trailing = null;
    const c = this.latest;
    if (!c || !this.sync.synced) return;
    this.lastSent = Date.now();
    this.sync.sendMessage({ t: "cur", x: c.x, y: c.y, vp: c.vp, ...(this.laserDown ? { l: 1 as const } : {}) });
  }

  /** The colour `clientId` is shown in (distinctColors); grey for one not in the list. */
  colorOf(clientId: string): string {
    if (this.colorsOf !== this.clients) {
      this.colors = distinctColors(this.clients);
      this.colorsOf = this.clients;
    }
    return this.colors.get(clientId) ?? UNKNOWN_COLOR;
  }

  remoteCursors(): RemoteCursor[] {
    const now = Date.now();
    const out: RemoteCursor[] = [];
    for (const [id, c] of this.cursors) {
      if (now - c.at > CURSOR_STALE_MS) continue;
      const who = this.clients.find((p) => p.client_id === id);
      const name = who ? guestMarked(who) : "guest";
      out.push({ x: c.x, y: c.y, name, color: this.colorOf(id) });
    }
    return out;
  }

  follow(clientId: string | null): void {
    this.following = clientId === this.sync.clientId ? null : clientId;
    const vp = clientId ? this.cursors.get(clientId)?.vp : null;
    if (vp) this.onFollow(vp);
    this.onChange();
  }
}
