/**
 * The board page's chrome: toolbar, palette, connection status, presence list, keyboard
 * shortcuts and the help overlay (the text editor is text-edit.ts).
 */
import type { ToolName } from "../canvas/tools";
import type { Editor } from "../editor";
import { Nudges } from "../nudge";
import { presenceLabel } from "../presence";
import { CloseCode } from "../protocol";
import type { ConnectionStatus } from "../socket";
import type { BoardFullRefusal } from "../sync";
import { deadShareLink } from "./dead-link";
import { $, h } from "./dom";
import { PREVIEW_REASON } from "./timeline";

/** Arrow-key pan step in screen pixels. */
const KEY_PAN_PX = 60;
/** Arrow-key nudge of a selection in world units. */
const KEY_NUDGE = 10;
/** Zoom factor per +/- key press. */
const KEY_ZOOM = 1.25;
const WIDTHS = [2, 4, 8, 16];

/** Run a key's action and report it handled (so the browser default is prevented). */
function run(action: () => void): true {
  action();
  return true;
}

const TOOL_KEYS: Record<string, ToolName> = {
  v: "select", h: "hand", p: "pen", m: "highlighter", e: "eraser",
  r: "rect", o: "ellipse", l: "line", a: "arrow", t: "text", k: "laser",
  d: "diamond", n: "note", f: "frame",
};

/** How long the status line tells of a `board_full` refusal (ms); it is re-rendered every 500 ms. */
export const NOTICE_MS = 6000;

/** The notice for a `board_full` refusal while it is fresh, else null. */
export function boardFullNotice(refusal: BoardFullRefusal | null, now = Date.now()): string | null {
  if (!refusal || now < refusal.at || now - refusal.at >= NOTICE_MS) return null;
  return `This board is full: ${refusal.reason}. Delete something to make room.`;
}

/**
 * The status line: [kind (its style), text]. A `notice` (boardFullNotice) takes the place of
 * "Connected" while it lasts; a connection problem still shows first.
 */
export function statusText(
  s: ConnectionStatus,
  readOnly: boolean,
  synced: boolean,
  now = Date.now(),
  notice: string | null = null,
): [string, string] {
  switch (s.kind) {
    case "connected":
      if (notice) return ["notice", notice];
      if (!synced) return ["connecting", "Syncing…"];
      return readOnly ? ["readonly", "Connected · read-only"] : ["connected", "Connected"];
    case "connecting":
      return ["connecting", "Connecting…"];
    case "reconnecting": {
      // Saying the edits are kept matters: a waiting reconnect otherwise reads as work lost.
      const wait = `Reconnecting in ${Math.max(0, Math.ceil((s.at - now) / 1000))}s · your edits are kept`;
      return ["reconnecting", s.reason ? `${s.reason}. ${wait}` : wait];
    }
    case "offline":
      return ["offline", "Offline: changes are kept and sent when back"];
    case "unauthenticated":
      return ["fatal", "Signed out"];
    case "fatal":
      return ["fatal", s.message];
  }
}

export class BoardChrome {
  private status: ConnectionStatus = { kind: "connecting" };
  /** The board turned out missing or out of reach (unavailable()): the controls stay off. */
  private closed = false;
  /** The tool read-only mode put down, taken up again when it ends. */
  private toolBeforeReadOnly: ToolName | null = null;
  private readonly nudges: Nudges;

  constructor(private readonly ed: Editor) {
    this.nudges = new Nudges(ed.undoStack);
    this.wireTools();
    this.wireKeys();
    setInterval(() => this.renderStatus(), 500);
  }

  setStatus(status: ConnectionStatus): void {
    this.status = status;
    if (status.kind === "unauthenticated") {
      const login = `/login/?next=${encodeURIComponent(location.pathname + location.search)}`;
      void this.unlessDeadLink(() => location.assign(login));
    }
    if (status.kind === "fatal") {
      const fatal = $("fatal");
      fatal.textContent = status.message;
      fatal.hidden = false;
      if (status.code === CloseCode.NOT_FOUND || status.code === CloseCode.FORBIDDEN) {
        this.unavailable(status.code === CloseCode.FORBIDDEN ? "No access to this board" : "Board not found", status.message);
        void this.unlessDeadLink(() => undefined);
      }
    }
    this.renderStatus();
    this.renderPresence();
  }

  /**
   * No such board, or no access: nothing here can be used, so the editor's controls go (hidden
   * and disabled, not merely covered) and the page is titled for what it is.
   */
  private unavailable(title: string, message: string): void {
    this.closed = true;
    document.body.classList.add("unavailable");
    for (const b of document.querySelectorAll<HTMLButtonElement>(".topbar button, #toolbar button")) b.disabled = true;
    this.setTitle(title);
    $("fatal").hidden = false;
    $("fatal").replaceChildren(
      h("div", { class: "card" }, h("h2", { text: title }), h("p", { text: message }), h("a", { href: "/", text: "Go to your boards" })),
    );
  }

  /** If the share link we came by is dead, say so (unavailable); else do `otherwise`. */
  private async unlessDeadLink(otherwise: () => void): Promise<void> {
    const token = new URLSearchParams(location.search).get("share");
    const dead = await deadShareLink(document.body.dataset.boardId ?? "", token);
    if (dead) this.unavailable(dead.title, dead.message);
    else otherwise();
  }

  renderStatus(): void {
    const now = Date.now();
    const notice = boardFullNotice(this.ed.sync.boardFull, now);
    const [kind, text] = statusText(this.status, this.ed.sync.readOnly, this.ed.sync.synced, now, notice);
    const el = $("status");
    if (el.textContent !== text) el.textContent = text;
    el.dataset.kind = kind;
    $("btn-retry").hidden = this.status.kind !== "reconnecting";
  }

  /**
   * Role, session or preview changed: reflect read-only state everywhere. A viewer's tools are
   * off for good (the badge says why); a history or snapshot preview turns them off until
   * "Back to live" (the preview banner says why), then the tool in hand before comes back.
   */
  renderSession(): void {
    if (this.closed) return;
    const ro = this.ed.readOnly;
    const reason = this.ed.preview !== null ? PREVIEW_REASON : "Read-only: you can view but not draw";
    document.body.classList.toggle("readonly", ro);
    $("readonly-badge").hidden = !this.ed.sync.readOnly;
    for (const b of document.querySelectorAll<HTMLButtonElement>("#toolbar button")) {
      const tool = b.dataset.tool as ToolName | undefined;
      const viewOnly = tool === "select" || (tool && this.ed.worksReadOnly(tool)) || b.id.startsWith("btn-zoom") || b.id === "btn-fit";
      b.dataset.title ??= b.title;
      b.disabled = ro && !viewOnly;
      b.title = b.disabled ? `${b.dataset.title} · ${reason}` : b.dataset.title;
    }
    if (ro && this.ed.toolName !== "select" && !this.ed.worksReadOnly(this.ed.toolName)) {
      this.toolBeforeReadOnly = this.ed.toolName;
      this.selectTool("hand");
    } else if (!ro && this.toolBeforeReadOnly) {
      this.selectTool(this.toolBeforeReadOnly);
      this.toolBeforeReadOnly = null;
    }
    const title = this.ed.sync.hello?.board.title;
    if (title) this.setTitle(title);
    this.renderStatus();
  }

  setTitle(title: string): void {
    $("board-title").textContent = title;
    document.title = `${title} · Inkroom`;
  }

  renderPresence(): void {
    const list = $("presence");
    // While we are not connected the list is only who was there when we lost the connection.
    const stale = !this.ed.presenceLive;
    list.classList.toggle("stale", stale);
    list.replaceChildren(
      ...this.ed.presence.clients.map((c) => {
        const me = c.client_id === this.ed.sync.clientId;
        const label = presenceLabel(c, this.ed.sync.clientId, this.ed.sync.hello?.user.id ?? null);
        const b = h("button", {
          type: "button",
          style: `background: ${this.ed.presence.colorOf(c.client_id)}`,
          "aria-pressed": String(this.ed.presence.following === c.client_id),
          "aria-label": me ? label : `Follow ${label}`,
          title: stale
            ? `${label}: last seen here; not connected, so not known now`
            : me ? `${c.name} (you, ${c.role})` : `${label} (${c.role}): click to follow`,
          text: label,
        });
        if (!me) b.addEventListener("click", () => this.ed.presence.follow(this.ed.presence.following === c.client_id ? null : c.client_id));
        return h("li", {}, b);
      }),
    );
  }

  selectTool(name: ToolName): void {
    this.ed.setTool(name);
    for (const b of document.querySelectorAll<HTMLButtonElement>("[data-tool]")) {
      b.setAttribute("aria-pressed", String(b.dataset.tool === name));
    }
  }

  private setColor(color: string, restyle = false): void {
    this.ed.palette.color = color;
    if (restyle) this.ed.restyleSelection({ color });
    for (const b of document.querySelectorAll<HTMLButtonElement>("[data-color]")) {
      b.classList.toggle("active", b.dataset.color === color);
      b.setAttribute("aria-pressed", String(b.dataset.color === color));
    }
  }

  private setWidth(width: number, restyle = false): void {
    this.ed.palette.width = width;
    if (restyle) this.ed.restyleSelection({ width });
    for (const b of document.querySelectorAll<HTMLButtonElement>("[data-width]")) {
      b.setAttribute("aria-pressed", String(Number(b.dataset.width) === width));
    }
  }

  private wireTools(): void {
    for (const b of document.querySelectorAll<HTMLButtonElement>("[data-tool]")) {
      b.addEventListener("click", () => this.selectTool(b.dataset.tool as ToolName));
    }
    for (const b of document.querySelectorAll<HTMLButtonElement>("[data-color]")) {
      b.addEventListener("click", () => this.setColor(b.dataset.color ?? "#1e1e1e", true));
    }
    for (const b of document.querySelectorAll<HTMLButtonElement>("[data-width]")) {
      b.addEventListener("click", () => this.setWidth(Number(b.dataset.width), true));
    }
    const fill = $("btn-fill");
    fill.addEventListener("click", () => {
      this.ed.palette.fill = this.ed.palette.fill ? null : "#ffec99";
      fill.setAttribute("aria-pressed", String(this.ed.palette.fill !== null));
    });
    $("btn-undo").addEventListener("click", () => this.ed.undo());
    $("btn-redo").addEventListener("click", () => this.ed.redo());
    $("btn-delete").addEventListener("click", () => this.ed.deleteSelection());
    $("btn-zoom-in").addEventListener("click", () => this.ed.zoomBy(KEY_ZOOM));
    $("btn-zoom-out").addEventListener("click", () => this.ed.zoomBy(1 / KEY_ZOOM));
    $("btn-fit").addEventListener("click", () => this.ed.zoomToFit());
    const clear = $<HTMLDialogElement>("dlg-clear");
    $("btn-clear").addEventListener("click", () => clear.showModal());
    clear.addEventListener("close", () => {
      if (clear.returnValue === "clear") this.ed.clear();
    });
    $("btn-retry").addEventListener("click", () => this.ed.socket.retryNow());
    $("btn-help").addEventListener("click", () => $<HTMLDialogElement>("dlg-help").showModal());
    this.selectTool("pen");
    this.setColor("#1e1e1e");
    this.setWidth(4);
  }

  private wireKeys(): void {
    window.addEventListener("keydown", (e) => {
      const target = e.target as HTMLElement;
      if (target.closest("input, textarea, select, dialog")) return;
      if (e.key === " ") {
        // Space presses a focused button or follows a link (keyboard users); only elsewhere
        // does it hold the temporary hand tool.
        if (target.closest("button, a")) return;
        this.ed.setSpace(true);
        e.preventDefault();
        return;
      }
      if (this.handleKey(e)) e.preventDefault();
    });
    window.addEventListener("keyup", (e) => {
      if (e.key === " ") this.ed.setSpace(false);
    });
  }

  private handleKey(e: KeyboardEvent): boolean {
    const mod = e.ctrlKey || e.metaKey;
    const key = e.key.toLowerCase();
    if (mod && key === "z") return run(() => (e.shiftKey ? this.ed.redo() : this.ed.undo()));
    if (mod && key === "y") return run(() => this.ed.redo());
    if (mod || e.altKey) return false;
    if (key in TOOL_KEYS) {
      // A disabled tool's key does nothing, as its button does (read-only, or a preview).
      const button = document.querySelector<HTMLButtonElement>(`[data-tool=${TOOL_KEYS[key]}]`);
      return run(() => button?.disabled || this.selectTool(TOOL_KEYS[key]));
    }
    if (e.key === "?") return run(() => $<HTMLDialogElement>("dlg-help").showModal());
    if (e.key === "Delete" || e.key === "Backspace") return run(() => this.ed.deleteSelection());
    if (e.key === "+" || e.key === "=") return run(() => this.ed.zoomBy(KEY_ZOOM));
    if (e.key === "-") return run(() => this.ed.zoomBy(1 / KEY_ZOOM));
    if (e.key === "!" || (e.shiftKey && e.code === "Digit1")) return run(() => this.ed.zoomToFit());
    // 100 % around the view's centre, like + and -: keeping the top-left corner fixed threw a
    // far-zoomed-out view's content off screen.
    if (e.key === "0") return run(() => this.ed.zoomBy(1 / this.ed.camera.zoom));
    if (/^[1-6]$/.test(e.key)) {
      const swatch = document.querySelectorAll<HTMLButtonElement>("[data-color]")[Number(e.key) - 1];
      swatch?.click();
      return true;
    }
    if (e.key === "[" || e.key === "]") {
      const k = WIDTHS.indexOf(this.ed.palette.width);
      const next = WIDTHS[Math.max(0, Math.min(WIDTHS.length - 1, k + (e.key === "]" ? 1 : -1)))];
      this.setWidth(next, true);
      return true;
    }
    return this.arrowKey(e);
  }

  private arrowKey(e: KeyboardEvent): boolean {
    const dirs: Record<string, [number, number]> = {
      ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1],
    };
    const d = dirs[e.key];
    if (!d) return false;
    const view = this.ed.sync.view();
    const ids = [...this.ed.selection].filter((id) => !view.elements.get(id)?.lock);
    if (this.ed.selection.size > 0 && !this.ed.readOnly) {
      const step = e.shiftKey ? KEY_NUDGE * 5 : KEY_NUDGE;
      // Locked elements stay; a run of nudges is one undo step (nudge.ts).
      if (ids.length > 0) this.ed.submit(this.nudges.nudge(view, ids, d[0] * step, d[1] * step));
    } else {
      this.ed.panBy(-d[0] * KEY_PAN_PX, -d[1] * KEY_PAN_PX);
    }
    return true;
  }
}
