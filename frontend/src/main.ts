/**
 * The bundle's entry point: starts the page named by <body data-page>.
 */
import { authPage } from "./pages/auth";
import { boardPage } from "./pages/board";
import { boardsPage } from "./pages/boards";
import { installTheme } from "./ui/theme";

const pages: Record<string, () => void> = { auth: authPage, boards: boardsPage, board: boardPage };

function start(): void {
  installTheme();
  pages[document.body.dataset.page ?? ""]?.();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
