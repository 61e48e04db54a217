// window.inkroom: what the browser tests and the canvas bench read of a running editor.
import type { Editor } from "./editor";
import { stateSnapshot } from "./ops";

export function debugHook(editor: Editor): Record<string, unknown> {
  return {
    state: () => stateSnapshot(editor.sync.confirmed),
    view: () => stateSnapshot(editor.sync.view()),
    preview: () => (editor.preview ? stateSnapshot(editor.preview) : null),
    status: () => editor.socket.status.kind,
    outbox: () => editor.sync.outbox.list(),
    clientId: () => editor.sync.clientId,
    role: () => editor.sync.role,
    synced: () => editor.sync.synced,
    camera: () => ({ x: editor.camera.x, y: editor.camera.y, zoom: editor.camera.zoom }),
    viewport: () => editor.viewport(),
    following: () => editor.presence.following,
    cursors: () => editor.remoteCursors(),
    toScreen: (x: number, y: number) => editor.camera.toScreen(x, y),
    renderPending: () => editor.renderer.renderPending(),
    renderShown: () => editor.renderer.renderShown(),
    coarseDraws: () => editor.renderer.coarseDraws(),
    blankDraws: () => editor.renderer.blankDraws(),
    fullDraw: () => editor.renderer.fullDraw(editor.preview ?? editor.sync.view()),
  };
}
