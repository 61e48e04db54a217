/**
 * The board menu: snapshots panel, export downloads and the history scrubber (the share dialog
 * is ui/share-dialog.ts).
 *
 * Past states (a scrubbed seq, a snapshot preview) are shown through Editor.preview, which
 * makes the canvas read-only until "Back to live".
 */
import { api, type SnapshotInfo } from "../api";
import type { Editor } from "../editor";
import { stateFromElements } from "../ops";
import { $, download, h, showError } from "./dom";
import { RestoreUndo } from "./restore-undo";
import type { ShareDialog } from "./share-dialog";
import { PREVIEW_REASON, snapshotTitle, TimelineView, when } from "./timeline";

/** Wait this long (ms) after the slider stops before fetching a state: no request per pixel. */
const SCRUB_DEBOUNCE_MS = 150;

export class BoardPanels {
  private timeline: TimelineView | null = null;
  private readonly restores: RestoreUndo;
  private scrubTimer: ReturnType<typeof setTimeout> | null = null;
  private scrubToken = 0;

  constructor(
    private readonly ed: Editor,
    private readonly boardId: string,
    private readonly onPreview: () => void,
  ) {
    this.restores = new RestoreUndo(ed, boardId);
    // Loaded on first use: only owners open it, and the page's first load stays small.
    let share: ShareDialog | null = null;
    const openShare = async () => (share ??= new (await import("./share-dialog")).ShareDialog(boardId)).open();
    $("btn-share").addEventListener("click", () => void openShare());
    $("btn-snapshots").addEventListener("click", () => void this.openSnapshots());
    $("btn-export-png").addEventListener("click", () => void this.exportAs("png"));
    $("btn-export-svg").addEventListener("click", () => void this.exportAs("svg"));
    $("btn-history").addEventListener("click", () => void this.openHistory());
    $("history-live").addEventListener("click", () => this.backToLive());
    $("history-range").addEventListener("input", () => this.scrub());
    $("snap-form").addEventListener("submit", (e) => {
      e.preventDefault();
      void this.createSnapshot();
    });
  }

  /** Owner/editor-only entries are hidden from viewers. */
  renderRole(): void {
    const role = this.ed.sync.role;
    $("btn-share").hidden = role !== "owner";
    $("snap-form").hidden = role === "viewer";
  }

  private async openSnapshots(): Promise<void> {
    const dlg = $<HTMLDialogElement>("dlg-snapshots");
    $("snap-error").hidden = true;
    dlg.showModal();
    await this.refreshSnapshots();
  }

  private async refreshSnapshots(): Promise<void> {
    try {
      this.renderSnapshots(await api.listSnapshots(this.boardId));
    } catch (err) {
      showError($("snap-error"), err);
    }
  }

  private renderSnapshots(snaps: SnapshotInfo[]): void {
    const canRestore = this.ed.sync.role !== "viewer";
    $("snap-list").replaceChildren(
      ...snaps.map((snap) => {
        const title = snapshotTitle(snap);
        const detail = snap.kind === "auto" ? `seq ${snap.seq}` : `seq ${snap.seq} · ${when(snap.created_at)}`;
        const label = h("span", { class: "grow", text: `${title} · ${detail}` });
        const preview = h("button", { type: "button", text: "Preview", "aria-label": `Preview snapshot ${snap.label}` });
        preview.addEventListener("click", () => void this.previewSnapshot(snap));
        const restore = h("button", { type: "button", text: "Restore", "aria-label": `Restore snapshot ${snap.label}` });
        restore.hidden = !canRestore;
        restore.addEventListener("click", () => void this.restoreSnapshot(snap));
        return h("li", {}, label, preview, restore);
      }),
    );
  }

  private async createSnapshot(): Promise<void> {
    const input = $<HTMLInputElement>("snap-label");
    try {
      await api.createSnapshot(this.boardId, input.value.trim());
      input.value = "";
      await this.refreshSnapshots();
    } catch (err) {
      showError($("snap-error"), err);
    }
  }

  private async previewSnapshot(snap: SnapshotInfo): Promise<void> {
    try {
      const st = await api.snapshotState(this.boardId, snap.id);
      $<HTMLDialogElement>("dlg-snapshots").close();
      this.showPreview(st.seq, st.elements, `Previewing snapshot “${snapshotTitle(snap)}” — return to live to draw`);
      $("history-bar").hidden = true;
    } catch (err) {
      showError($("snap-error"), err);
    }
  }

  private async restoreSnapshot(snap: SnapshotInfo): Promise<void> {
    if (!confirm(`Restore the board to “${snap.label || `seq ${snap.seq}`}” for everyone? (Ctrl+Z undoes it.)`)) return;
    try {
      await this.restores.restore(snap.id);
      $<HTMLDialogElement>("dlg-snapshots").close();
      this.backToLive();
    } catch (err) {
      showError($("snap-error"), err);
    }
  }

  private async exportAs(format: "png" | "svg"): Promise<void> {
    try {
      const blob = await api.exportFile(this.boardId, format);
      const title = (this.ed.sync.hello?.board.title ?? "board").replace(/[^\w.-]+/g, "_");
      download(blob, `${title}.${format}`);
    } catch (err) {
      alert(`Export failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** The slider steps through whole changes (api.history), at the latest one to begin with. */
  private async openHistory(): Promise<void> {
    const range = $<HTMLInputElement>("history-range");
    const label = $("history-label");
    range.max = "0";
    range.value = "0";
    range.disabled = true;
    label.textContent = "Loading history…";
    $("history-bar").hidden = false;
    try {
      this.timeline = new TimelineView(await api.history(this.boardId));
    } catch (err) {
      label.textContent = `failed: ${err instanceof Error ? err.message : String(err)}`;
      return;
    }
    const last = this.timeline.length;
    range.max = String(last);
    range.value = String(last);
    range.disabled = false;
    label.textContent = this.timeline.label(last);
    range.focus();
  }

  private scrub(): void {
    const timeline = this.timeline;
    if (!timeline) return;
    const k = Number($<HTMLInputElement>("history-range").value);
    $("history-label").textContent = timeline.label(k);
    if (this.scrubTimer !== null) clearTimeout(this.scrubTimer);
    this.scrubTimer = setTimeout(() => void this.loadSeq(timeline.seqAt(k)), SCRUB_DEBOUNCE_MS);
  }

  private async loadSeq(seq: number): Promise<void> {
    const token = ++this.scrubToken;
    try {
      const st = await api.stateAt(this.boardId, seq);
      // A later scrub or "Back to live" won the race: drop this answer.
      if (token !== this.scrubToken || $("history-bar").hidden) return;
      this.showPreview(st.seq, st.elements, PREVIEW_REASON);
    } catch (err) {
      $("history-label").textContent = `failed: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  private showPreview(seq: number, elements: Parameters<typeof stateFromElements>[1], text: string): void {
    this.ed.preview = stateFromElements(seq, elements);
    const banner = $("preview-banner");
    banner.replaceChildren(h("span", { id: "preview-reason", text }), " ", this.liveButton());
    banner.hidden = false;
    this.ed.invalidate();
    this.onPreview();
  }

  private liveButton(): HTMLButtonElement {
    const b = h("button", { type: "button", text: "Back to live" });
    b.addEventListener("click", () => this.backToLive());
    return b;
  }

  backToLive(): void {
    this.scrubToken += 1;
    this.ed.preview = null;
    $("history-bar").hidden = true;
    $("preview-banner").hidden = true;
    this.ed.invalidate();
    this.onPreview();
  }
}
