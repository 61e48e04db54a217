/**
 * The board editor: wires the sync client, the socket, presence, camera, renderer, tools and
 * undo together, and renders on requestAnimationFrame only when something changed.
 */
import { restoreZ } from "./bindings";
import { Camera, MAX_ZOOM } from "./canvas/camera";
import { contentBounds, scanQuery } from "./canvas/hit";
import type { Gestures } from "./canvas/gestures";
import { attachInput, type GestureCommand } from "./canvas/input";
import { DEFAULT_PALETTE, toolStyle, type Palette } from "./canvas/palette";
import { Renderer, type RemoteCursor } from "./canvas/render";
import type { ElementQuery } from "./canvas/scene";
import type { TextTarget } from "./canvas/text-tool";
import { makeTool, type PointerSample, type Tool, type ToolHost, type ToolName } from "./canvas/tools";
import type { BoardState } from "./ops";
import { Outbox } from "./outbox";
import { Presence } from "./presence";
import { CompactError } from "./compact";
import { ProtocolError, type Element, type ServerMessage, type StylePatch, type Viewport } from "./protocol";
import { boardSocketUrl, ReconnectManager, type ConnectionStatus } from "./socket";
import { SyncClient, type NewOp } from "./sync";
import { deliverOutbox, ORPHAN_SCAN_MS, OrphanAdopter, type TabLocks } from "./tabs";
import { clearedEntry, deletedEntry, deleteOps, MAX_IDS_PER_OP, UndoStack, updatedEntry, type UndoEntry } from "./undo";

export interface EditorOptions {
  boardId: string;
  shareToken: string | null;
  /** This tab's client id (tabs.ts claimClientId). */
  clientId: string;
  /** The tab leases (null without Web Locks: then no closed tab's outbox is adopted). */
  locks: TabLocks | null;
  canvas: HTMLCanvasElement;
  onStatus(status: ConnectionStatus): void;
  onSession(): void;
  onPresence(): void;
  onMessage(msg: ServerMessage): void;
  editText(target: TextTarget): void;
  /** A gesture's command at this canvas point (input.ts): the context actions, undo, redo. */
  command(name: GestureCommand, screen: [number, number]): void;
}

/** Remote cursors are drawn in this grey while we are not connected: where they are now is unknown. */
const STALE_CURSOR_COLOR = "#adb5bd";

export class Editor {
  readonly sync: SyncClient;
  readonly socket: ReconnectManager;
  readonly presence: Presence;
  readonly camera = new Camera();
  readonly renderer: Renderer;
  readonly undoStack = new UndoStack();
  readonly selection = new Set<string>();
  /** The canvas's gesture recogniser (its palm-rejection mode is a setting: ui/pen-mode.ts). */
  readonly gestures: Gestures;
  palette: Palette = { ...DEFAULT_PALETTE };
  toolName: ToolName = "pen";
  private previewState: BoardState | null = null;
  /** Counts preview changes, so the renderer's cache tells previews apart. */
  private previewVersion = 0;
  private tool: Tool;
  private dirty = true;
  private space = false;
  private lastScreen: [number, number] = [0, 0];
  private readonly touched = (since: number) => this.sync.touchedSince(since);
  private readonly adopter: OrphanAdopter | null;

  constructor(private readonly opts: EditorOptions) {
    const outbox = new Outbox(localStorage, opts.boardId, opts.clientId);
    this.sync = new SyncClient(outbox, {
      change: () => this.invalidate(),
      message: (msg) => this.onMessage(msg),
      session: () => this.onSession(),
    });
    this.presence = new Presence(this.sync, () => {
      this.invalidate();
      opts.onPresence();
    }, (vp) => this.showViewport(vp));
    this.renderer = new Renderer(opts.canvas);
    this.tool = makeTool(this.toolName, this.toolHost());
    this.socket = new ReconnectManager({
      url: () => this.socketUrl(),
      onOpen: (send) => this.sync.attach(send),
      onFrame: (data) => this.onFrame(data),
      onClose: () => this.sync.detach(),
      onStatus: (s) => {
        this.invalidate();
        opts.onStatus(s);
      },
    });
    this.gestures = attachInput(opts.canvas, this.inputHost());
    new ResizeObserver(() => {
      this.renderer.resize();
      this.invalidate();
    }).observe(opts.canvas);
    this.renderer.resize();
    this.adopter = opts.locks
      ? new OrphanAdopter({
          store: localStorage,
          locks: opts.locks,
          boardId: opts.boardId,
          ownId: opts.clientId,
          deliver: (orphan) => {
            const since = this.sync.applied;
            return deliverOutbox(orphan, { url: this.socketUrl(orphan.clientId, since), since });
          },
        })
      : null;
  }

  start(): void {
    this.socket.start();
    if (this.adopter) setInterval(() => this.adoptOrphans(), ORPHAN_SCAN_MS);
    const loop = () => {
      this.tool.tick();
      if (this.dirty) {
        this.dirty = false;
        this.draw();
      }
      requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
  }

  /** Deliver the outboxes closed tabs left, only while we are live (they would fail else). */
  private adoptOrphans(): void {
    if (this.adopter && this.sync.synced) void this.adopter.scan();
  }

  private socketUrl(clientId = this.sync.clientId, since = this.sync.applied): string {
    return boardSocketUrl(this.opts.boardId, { clientId, since, share: this.opts.shareToken });
  }

  private onFrame(data: ArrayBuffer | string): void {
    try {
      this.sync.receive(data);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      console.warn("inkroom: bad frame", err.message);
      // A bad compact frame may have left our handle table behind the server's, and every
      // later frame naming those handles would fail too; a new connection starts both afresh.
      if (err instanceof CompactError) this.socket.reconnect();
    }
  }

  private onMessage(msg: ServerMessage): void {
    if (this.presence.handle(msg)) return;
    this.opts.onMessage(msg);
  }

  private onSession(): void {
    const initial = this.sync.hello?.presence;
    if (!this.sync.synced && Array.isArray(initial)) {
      this.presence.clients = initial;
      this.opts.onPresence();
    }
    if (this.sync.synced) {
      this.socket.markHealthy();
      const name = this.sync.hello?.user.name || "guest";
      this.presence.announce(name);
      this.adoptOrphans();
    }
    this.opts.onSession();
    this.invalidate();
  }

  /** A past state shown read-only (history scrubber, snapshot preview), or null for live. */
  get preview(): BoardState | null {
    return this.previewState;
  }

  set preview(state: BoardState | null) {
    this.previewState = state;
    this.previewVersion += 1;
    this.invalidate();
  }

  get readOnly(): boolean {
    return this.sync.readOnly || this.preview !== null;
  }

  /**
   * Whether tool `name` works while read-only: panning always, and the laser for a viewer on the
   * live board (it changes nothing; tldraw lets read-only users point too). Not while previewing
   * history: the others see the live board, not the picture it would point at.
   */
  worksReadOnly(name: ToolName): boolean {
    return name === "hand" || (name === "laser" && this.preview === null);
  }

  invalidate(): void {
    this.dirty = true;
  }

  private draw(): void {
    const state = this.preview ?? this.sync.view();
    const live = this.preview === null;
    const version = live ? this.sync.version : -this.previewVersion;
    const more = this.renderer.draw(
      state,
      version,
      this.camera,
      {
        selection: live ? this.selection : new Set(),
        tool: live ? this.tool : null,
        cursors: live ? this.remoteCursors() : [],
        laser: this.presence.laser,
      },
      live ? this.touched : undefined,
    );
    // Tiles still to draw, or a zoom or a remote stroke to settle: keep the frames coming.
    if (more) this.invalidate();
  }

  /** The live view by region, for hit tests (the renderer's index, brought up to date). */
  scene(): ElementQuery {
    if (this.preview) return scanQuery(this.sync.view());
    this.renderer.scene.sync(this.sync.view(), this.sync.version, this.touched);
    return this.renderer.scene;
  }

  /** Whether the presence we show is current: only while connected (else it is what we last saw). */
  get presenceLive(): boolean {
    return this.socket.status.kind === "connected";
  }

  /** Others' cursors as drawn: grey while we are not connected. */
  remoteCursors(): RemoteCursor[] {
    const cursors = this.presence.remoteCursors();
    return this.presenceLive ? cursors : cursors.map((c) => ({ ...c, color: STALE_CURSOR_COLOR }));
  }

  setTool(name: ToolName): void {
    this.tool.up();
    this.toolName = name;
    this.tool = makeTool(name, this.toolHost());
    this.opts.canvas.style.cursor = ""; // the old tool's, until the pointer moves
    if (name !== "select") this.selection.clear();
    this.invalidate();
  }

  /** Submit ops as a user action (refused while read-only). */
  submit(ops: NewOp[]): void {
    if (this.readOnly || ops.length === 0) return;
    this.sync.submit(ops);
  }

  undo(): void {
    if (this.readOnly) return;
    const ops = this.undoStack.undo(this.sync.view());
    if (ops) this.submit(ops);
  }

  redo(): void {
    if (this.readOnly) return;
    const ops = this.undoStack.redo(this.sync.view());
    if (ops) this.submit(ops);
  }

  deleteSelection(): void {
    const view = this.sync.view();
    // Locked elements stay (unlock them first).
    const els = [...this.selection].map((id) => view.elements.get(id)).filter((el): el is Element => el !== undefined && !el.lock);
    this.selection.clear();
    if (els.length === 0 || this.readOnly) return;
    this.submit(deleteOps(els.map((el) => el.id)));
    this.undoStack.push(deletedEntry(els, restoreZ(view.elements, new Set(els.map((el) => el.id)), MAX_IDS_PER_OP)));
  }

  /** Apply a palette change to the selected elements (one undoable action). */
  restyleSelection(patch: StylePatch): void {
    const view = this.sync.view();
    const els = [...this.selection].map((id) => view.elements.get(id)).filter((el) => el !== undefined);
    if (els.length === 0 || this.readOnly) return;
    const entries = els.map((el) => {
      const before: StylePatch = {};
      for (const key of Object.keys(patch) as (keyof StylePatch)[]) {
        (before as Record<string, unknown>)[key] = el.style[key] ?? null; // null: absent, removed again
      }
      return updatedEntry(el.id, { style: before }, { style: patch });
    });
    this.submit(els.map((el) => ({ k: "upd", id: el.id, set: { style: patch } })));
    this.undoStack.push({
      undo: (state) => entries.flatMap((e) => e.undo(state)),
      redo: (state) => entries.flatMap((e) => e.redo(state)),
    });
  }

  /** Clear the board as an undoable action: `clr`, undone by re-adding what was there. */
  clear(): void {
    const elements = this.sync.view().elements;
    if (elements.size === 0 || this.readOnly) return;
    const entry = clearedEntry(elements);
    this.submit([{ k: "clr" }]);
    this.undoStack.push(entry);
    this.selection.clear();
  }

  zoomToFit(): void {
    const box = contentBounds(this.preview ?? this.sync.view());
    if (box) this.camera.fit(box, this.renderer.width, this.renderer.height);
    else this.camera.zoom = 1;
    this.viewChanged();
  }

  zoomBy(factor: number): void {
    this.camera.zoomAt(this.renderer.width / 2, this.renderer.height / 2, factor);
    this.viewChanged();
  }

  panBy(dsx: number, dsy: number): void {
    this.camera.pan(dsx, dsy);
    this.viewChanged();
  }

  /** The user moved the camera themselves: stop following anyone, and tell the others. */
  private viewChanged(): void {
    if (this.presence.following) this.presence.follow(null);
    this.invalidate();
    const [wx, wy] = this.camera.toWorld(...this.lastScreen);
    this.presence.moveCursor(wx, wy, this.viewport());
  }

  viewport(): Viewport {
    return this.camera.viewport(this.renderer.width, this.renderer.height);
  }

  private showViewport(vp: Viewport): void {
    const [x, y, w, h] = vp;
    // Up to the camera's own limit: fit's default cap is for framing content, and a leader
    // zoomed in past it would otherwise be shown to followers from further out.
    this.camera.fit({ minX: x, minY: y, maxX: x + w, maxY: y + h }, this.renderer.width, this.renderer.height, 0, MAX_ZOOM);
    this.invalidate();
  }

  setSpace(held: boolean): void {
    this.space = held;
  }

  private toolHost(): ToolHost {
    return {
      view: () => this.sync.view(),
      scene: () => this.scene(),
      submit: (ops) => this.submit(ops),
      record: (entry: UndoEntry) => this.undoStack.push(entry),
      style: (tool) => toolStyle(tool, this.palette),
      textSize: () => this.palette.textSize,
      limits: () => this.sync.limits,
      zoom: () => this.camera.zoom,
      selection: this.selection,
      pan: (dx, dy) => this.panBy(dx, dy),
      editText: (target) => this.opts.editText(target),
      laser: (x, y, down) => this.presence.pointLaser(x, y, down, this.viewport()),
      now: () => performance.now(),
    };
  }

  private inputHost() {
    return {
      camera: this.camera,
      spaceHeld: () => this.space,
      down: (p: PointerSample, screen: [number, number]) => {
        this.lastScreen = screen;
        if (this.presence.following) this.presence.follow(null);
        if (this.readOnly && !this.worksReadOnly(this.toolName)) return;
        this.tool.down(p);
        this.invalidate();
      },
      move: (samples: PointerSample[], screen: [number, number]) => {
        this.lastScreen = screen;
        this.tool.move(samples);
        this.invalidate();
      },
      hover: ([x, y]: [number, number]) => {
        this.lastScreen = this.camera.toScreen(x, y);
        this.presence.moveCursor(x, y, this.viewport());
        const cursor = this.readOnly ? null : this.tool.cursor?.({ x, y, pressure: null, shift: false });
        this.opts.canvas.style.cursor = cursor ?? "";
      },
      up: () => {
        this.tool.up();
        this.invalidate();
      },
      cancel: () => {
        if (this.tool.cancel) this.tool.cancel();
        else this.tool.up();
        this.invalidate();
      },
      viewChanged: () => this.viewChanged(),
      command: (name: GestureCommand, screen: [number, number]) => this.opts.command(name, screen),
    };
  }
}
