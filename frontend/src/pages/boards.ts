/**
 * The board list: the user's own boards (create, open, rename, delete) and, below, those shared
 * with them (as a member, or opened through a share link: their URL carries the link's token),
 * both searched and sorted alike. Each row shows the board's thumbnail (rendered by the server).
 */
import { api, type BoardInfo } from "../api";
import { $, h, showError } from "../ui/dom";

/** Search-as-you-type waits this long (ms) after the last key. */
const SEARCH_DEBOUNCE_MS = 200;

function boardRow(board: BoardInfo, refresh: () => void): HTMLLIElement {
  // Decorative (alt ""): the link it is part of is named by the title. Blank when the server
  // cannot draw it (a board above the export budget).
  const thumb = h("img", { class: "thumb", src: board.thumbnail_url, alt: "", width: "160", height: "100", loading: "lazy" });
  thumb.addEventListener("error", () => thumb.classList.add("missing"));
  const link = h("a", { href: board.url || `/b/${encodeURIComponent(board.id)}/` }, thumb, h("span", { text: board.title }));
  const by = board.role === "owner" ? "" : ` · by ${board.owner.username}`;
  const meta = h("span", { class: "muted", text: `${board.role}${by} · updated ${new Date(board.updated_at).toLocaleString()}` });
  const actions = h("span", { class: "actions" });
  const row = h("li", { "data-board-id": board.id }, link, meta, actions);
  if (board.role === "owner" || board.role === "editor") {
    const rename = h("button", { type: "button", text: "Rename", "aria-label": `Rename ${board.title}` });
    rename.addEventListener("click", async () => {
      const title = prompt("New title", board.title)?.trim();
      if (!title || title === board.title) return;
      await api.updateBoard(board.id, { title }).catch((err) => showError($("boards-error"), err));
      refresh();
    });
    actions.append(rename);
  }
  if (board.role === "owner") {
    const del = h("button", { type: "button", class: "danger", text: "Delete", "aria-label": `Delete ${board.title}` });
    del.addEventListener("click", async () => {
      if (!confirm(`Delete “${board.title}” for everyone? This cannot be undone.`)) return;
      await api.deleteBoard(board.id).catch((err) => showError($("boards-error"), err));
      refresh();
    });
    actions.append(del);
  }
  return row;
}

export function boardsPage(): void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let generation = 0;
  const refresh = async () => {
    const mine = ++generation;
    try {
      const search = $<HTMLInputElement>("search").value;
      const ordering = $<HTMLSelectElement>("ordering").value;
      const [own, shared] = await Promise.all([
        api.listBoards(search, ordering, false),
        api.listBoards(search, ordering, true),
      ]);
      if (mine !== generation) return;
      $("board-list").replaceChildren(...own.map((b) => boardRow(b, () => void refresh())));
      $("boards-empty").hidden = own.length > 0;
      $("shared-list").replaceChildren(...shared.map((b) => boardRow(b, () => void refresh())));
      $("shared-empty").hidden = shared.length > 0;
    } catch (err) {
      showError($("boards-error"), err);
    }
  };
  $("create-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const title = $<HTMLInputElement>("new-title").value.trim() || "Untitled board";
    try {
      const board = await api.createBoard(title);
      location.assign(`/b/${encodeURIComponent(board.id)}/`);
    } catch (err) {
      showError($("boards-error"), err);
    }
  });
  $("search").addEventListener("input", () => {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => void refresh(), SEARCH_DEBOUNCE_MS);
  });
  $("ordering").addEventListener("change", () => void refresh());
  $("logout").addEventListener("click", async () => {
    await api.logout().catch(() => undefined);
    location.assign("/login/");
  });
  void refresh();
}
