/**
 * A board opened through a share link that closed on us (no role, or signed out): was it the
 * link that died? The API says so with a 410 (docs/api.md "Roles"), which the page then shows
 * instead of "not found" or a sign-in form that could not help.
 */
import { api, ApiError } from "../api";

export interface DeadLink {
  title: string;
  message: string;
}

/** The dead link's title and the server's message, or null when the link is not the reason. */
export async function deadShareLink(boardId: string, shareToken: string | null): Promise<DeadLink | null> {
  if (!shareToken) return null;
  try {
    await api.getBoard(boardId);
    return null;
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 410) return null;
    const title = err.code === "share_link_revoked" ? "This share link was revoked" : "This share link has expired";
    return { title, message: err.message };
  }
}
