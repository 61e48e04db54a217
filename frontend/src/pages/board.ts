/**
 * The board page: an Editor plus its chrome and menu, and the `window.inkroom` debug hook.
 */
import { useShareToken } from "../api";
import { Editor } from "../editor";
import { browserLocks, claimClientId, isReload } from "../tabs";
import { BoardChrome } from "../ui/board-ui";
import { $ } from "../ui/dom";
import { BoardPanels } from "../ui/panels";

export async function boardPage(): Promise<void> {
  const boardId = document.body.dataset.boardId ?? "";
  const shareToken = new URLSearchParams(location.search).get("share");
  useShareToken(shareToken);
  const locks = browserLocks();
  const tab = await claimClientId({ boardId, local: localStorage, session: sessionStorage, locks, reloaded: isReload() });
  let chrome: BoardChrome | null = null;
  let panels: BoardPanels | null = null;
  const editor = new Editor({
    boardId,
    shareToken,
    clientId: tab.clientId,
    locks,
    canvas: $<HTMLCanvasElement>("board-canvas"),
    onStatus: (s) => chrome?.setStatus(s),
    onSession: () => {
      chrome?.renderSession();
      panels?.renderRole();
    },
    onPresence: () => chrome?.renderPresence(),
    onMessage: (msg) => {
      if ("type" in msg && msg.type === "board") chrome?.setTitle(msg.title);
    },
    editText: (_x, _y, screen, done) => chrome?.editText(screen, editor.palette.textSize, done),
  });
  chrome = new BoardChrome(editor);
  panels = new BoardPanels(editor, boardId, () => chrome?.renderSession());
  (window as unknown as { inkroom: unknown }).inkroom = {
    ...editor.debugHook(),
    statusText: () => $("status").textContent,
    leased: () => tab.leased,
    editor,
  };
  editor.start();
}
