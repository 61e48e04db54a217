/**
 * The board page: an Editor plus its chrome and menu, and the `window.inkroom` debug hook.
 */
import { useShareToken } from "../api";
import { cameraKey, loadCamera, openingPlace, saveCamera } from "../canvas/camera-store";
import { contentBounds } from "../canvas/hit";
import { BoardClipboard } from "../clipboard";
import { debugHook } from "../debug-hook";
import { Editor } from "../editor";
import { CloseCode } from "../protocol";
import { browserLocks, claimClientId, forgetTabId, isReload, startOver as startTabOver } from "../tabs";
import { BoardChrome } from "../ui/board-ui";
import { wireImages } from "../ui/image-input";
import { $ } from "../ui/dom";
import { BoardPanels } from "../ui/panels";
import { wirePenMode } from "../ui/pen-mode";
import { BoardShapes } from "../ui/shapes-ui";
import { BoardSheets } from "../ui/sheets";
import { StructureActions } from "../ui/structure-ui";
import { wireTextControls } from "../ui/text-controls";
import { TextEditing } from "../ui/text-edit";

export async function boardPage(): Promise<void> {
  const boardId = document.body.dataset.boardId ?? "";
  const shareToken = new URLSearchParams(location.search).get("share");
  useShareToken(shareToken);
  const locks = browserLocks();
  const tab = await claimClientId({ boardId, local: localStorage, session: sessionStorage, locks, reloaded: isReload() });
  let chrome: BoardChrome | null = null;
  let panels: BoardPanels | null = null;
  let sheets: BoardSheets | null = null;
  let texts: TextEditing | null = null;
  const editor = new Editor({
    boardId,
    shareToken,
    clientId: tab.clientId,
    locks,
    canvas: $<HTMLCanvasElement>("board-canvas"),
    onStatus: (s) => {
      if (s.kind === "fatal" && s.code === CloseCode.CLIENT_REPLACED) forgetTabId(sessionStorage, boardId);
      chrome?.setStatus(s);
    },
    onSession: () => {
      if (editor.sync.synced) placeCamera();
      chrome?.renderSession();
      panels?.renderRole();
    },
    onPresence: () => chrome?.renderPresence(),
    onMessage: (msg) => {
      if ("type" in msg && msg.type === "board") chrome?.setTitle(msg.title);
      if ("type" in msg && msg.type === "error" && msg.code === "client_id_taken") void startOver();
    },
    editText: (target) => texts?.open(target),
    command: (name, screen) => {
      if (name === "menu") sheets?.openSelection(screen);
      else if (name === "undo") editor.undo();
      else editor.redo();
    },
  });
  let startingOver = false;
  // Our id was used by someone else while we were away (protocol §1): carry on under a new one.
  async function startOver(): Promise<void> {
    if (startingOver) return;
    startingOver = true;
    try {
      const outbox = await startTabOver({ boardId, local: localStorage, session: sessionStorage, locks, reloaded: false, outbox: editor.sync.outbox });
      editor.sync.switchWriter(outbox);
      editor.socket.reconnect();
    } finally {
      startingOver = false;
    }
  }
  // The camera is kept per user and board; a first open frames the content once it is synced.
  const camKey = cameraKey(document.body.dataset.user || "guest", boardId);
  const stored = loadCamera(localStorage, camKey);
  if (stored) Object.assign(editor.camera, stored);
  // The socket opens before the page's controls are built: the server authenticates and sends
  // the board while this task builds them (no event is handled before it ends).
  editor.start();
  let placed = stored !== null;
  let kept = "";
  const keepCamera = () => {
    const { x, y, zoom } = editor.camera;
    const now = `${x},${y},${zoom}`;
    if (!placed || now === kept) return;
    kept = now;
    saveCamera(localStorage, camKey, { x, y, zoom });
  };
  function placeCamera(): void {
    if (placed) return;
    placed = true;
    const place = openingPlace(editor.camera, contentBounds(editor.sync.view()), editor.renderer.width, editor.renderer.height);
    if (place) Object.assign(editor.camera, place);
    editor.invalidate();
    keepCamera();
  }
  // Polled rather than hooked into every pan and zoom path; pagehide catches the last move.
  setInterval(keepCamera, 1000);
  addEventListener("pagehide", keepCamera);
  chrome = new BoardChrome(editor);
  wirePenMode(editor.gestures, localStorage);
  // A status set while start() ran (offline at load) came before the chrome was there.
  chrome.setStatus(editor.socket.status);
  panels = new BoardPanels(editor, boardId, () => chrome?.renderSession());
  sheets = new BoardSheets(editor);
  texts = new TextEditing(editor);
  wireTextControls(editor, texts);
  new BoardClipboard(editor, $<HTMLCanvasElement>("board-canvas"));
  new StructureActions(editor);
  wireImages(editor, $<HTMLCanvasElement>("board-canvas"), boardId, shareToken);
  $("btn-export").addEventListener("click", () => void import("../ui/export-dialog").then((m) => m.openExportDialog(editor, boardId)));
  new BoardShapes(editor);
  (window as unknown as { inkroom: unknown }).inkroom = {
    ...debugHook(editor),
    statusText: () => $("status").textContent,
    leased: () => tab.leased,
    editor,
  };
}
