/**
 * The board menu: share dialog, snapshots panel, export downloads and the history scrubber.
 *
 * Past states (a scrubbed seq, a snapshot preview) are shown through Editor.preview, which
 * makes the canvas read-only until "Back to live".
 */
import { api, type ShareLinkInfo, type SnapshotInfo } from "../api";
import type { Editor } from "../editor";
import { stateFromElements } from "../ops";
import { $, download, h, showError } from "./dom";

/** Wait this long (ms) after the slider stops before fetching a state: no request per pixel. */
const SCRUB_DEBOUNCE_MS = 150;

export class BoardPanels {
  private scrubTimer: ReturnType<typeof setTimeout> | null = null;
  private scrubToken = 0;

  constructor(
    private readonly ed: Editor,
    private readonly boardId: string,
    private readonly onPreview: () => void,
  ) {
    $("btn-share").addEventListener("click", () => void this.openShare());
    $("btn-snapshots").addEventListener("click", () => void this.openSnapshots());
    $("btn-export-png").addEventListener("click", () => void this.exportAs("png"));
    $("btn-export-svg").addEventListener("click", () => void this.exportAs("svg"));
    $("btn-history").addEventListener("click", () => this.openHistory());
    $("history-live").addEventListener("click", () => this.backToLive());
    $("history-range").addEventListener("input", () => this.scrub());
    $("share-form").addEventListener("submit", (e) => {
      e.preventDefault();
      void this.createLink();
    });
    $("snap-form").addEventListener("submit", (e) => {
      e.preventDefault();
      void this.createSnapshot();
    });
    $("link-access").addEventListener("change", () => void this.setLinkAccess());
  }

  /** Owner/editor-only entries are hidden from viewers. */
  renderRole(): void {
    const role = this.ed.sync.role;
    $("btn-share").hidden = role !== "owner";
    $("snap-form").hidden = role === "viewer";
  }

  private async openShare(): Promise<void> {
    const dlg = $<HTMLDialogElement>("dlg-share");
    $("share-error").hidden = true;
    dlg.showModal();
    try {
      const board = await api.getBoard(this.boardId);
      $<HTMLSelectElement>("link-access").value = board.link_access;
      this.renderLinks(await api.listShareLinks(this.boardId));
    } catch (err) {
      showError($("share-error"), err);
    }
  }

  private renderLinks(links: ShareLinkInfo[]): void {
    const live = links.filter((l) => !l.revoked_at);
    $("share-links").replaceChildren(
      ...live.map((link) => {
        const url = new URL(link.url || `/b/${this.boardId}/?share=${link.token}`, location.origin).href;
        const copy = h("button", { type: "button", "aria-label": `Copy ${link.role} link`, text: "Copy" });
        copy.addEventListener("click", () => {
          void navigator.clipboard?.writeText(url).then(() => (copy.textContent = "Copied"));
        });
        const revoke = h("button", { type: "button", "aria-label": `Revoke ${link.role} link`, text: "Revoke" });
        revoke.addEventListener("click", () => void this.revokeLink(link));
        const field = h("input", { readonly: "", value: url, "aria-label": `${link.role} link URL`, class: "grow" });
        return h("li", { "data-link-id": String(link.id) }, h("strong", { text: link.role }), field, copy, revoke);
      }),
    );
  }

  private async createLink(): Promise<void> {
    const role = $<HTMLSelectElement>("share-role").value as "editor" | "viewer";
    try {
      await api.createShareLink(this.boardId, role);
      this.renderLinks(await api.listShareLinks(this.boardId));
    } catch (err) {
      showError($("share-error"), err);
    }
  }

  private async revokeLink(link: ShareLinkInfo): Promise<void> {
    try {
      await api.revokeShareLink(this.boardId, link.id);
      this.renderLinks(await api.listShareLinks(this.boardId));
    } catch (err) {
      showError($("share-error"), err);
    }
  }

  private async setLinkAccess(): Promise<void> {
    const value = $<HTMLSelectElement>("link-access").value as "none" | "view" | "edit";
    try {
      await api.updateBoard(this.boardId, { link_access: value });
    } catch (err) {
      showError($("share-error"), err);
    }
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
        const when = new Date(snap.created_at).toLocaleString();
        const label = h("span", { class: "grow", text: `${snap.label || "(no label)"} · seq ${snap.seq} · ${when}` });
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
      this.showPreview(st.seq, st.elements, `Snapshot “${snap.label || snap.seq}” (read-only preview)`);
      $("history-bar").hidden = true;
    } catch (err) {
      showError($("snap-error"), err);
    }
  }

  private async restoreSnapshot(snap: SnapshotInfo): Promise<void> {
    if (!confirm(`Restore the board to “${snap.label || `seq ${snap.seq}`}” for everyone? (This is undoable by restoring another snapshot.)`)) return;
    try {
      await api.restoreSnapshot(this.boardId, snap.id);
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

  private openHistory(): void {
    const range = $<HTMLInputElement>("history-range");
    const head = this.ed.sync.applied;
    range.max = String(head);
    range.value = String(head);
    $("history-label").textContent = `seq ${head} of ${head}`;
    $("history-bar").hidden = false;
    range.focus();
  }

  private scrub(): void {
    const range = $<HTMLInputElement>("history-range");
    const seq = Number(range.value);
    $("history-label").textContent = `seq ${seq} of ${range.max}`;
    if (this.scrubTimer !== null) clearTimeout(this.scrubTimer);
    this.scrubTimer = setTimeout(() => void this.loadSeq(seq), SCRUB_DEBOUNCE_MS);
  }

  private async loadSeq(seq: number): Promise<void> {
    const token = ++this.scrubToken;
    try {
      const st = await api.stateAt(this.boardId, seq);
      // A later scrub or "Back to live" won the race: drop this answer.
      if (token !== this.scrubToken || $("history-bar").hidden) return;
      this.showPreview(st.seq, st.elements, `History at seq ${st.seq} (read-only)`);
    } catch (err) {
      $("history-label").textContent = `failed: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  private showPreview(seq: number, elements: Parameters<typeof stateFromElements>[1], text: string): void {
    this.ed.preview = stateFromElements(seq, elements);
    const banner = $("preview-banner");
    banner.replaceChildren(h("span", { text }), " ", this.liveButton());
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
