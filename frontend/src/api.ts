/**
 * A typed client for the REST API under /api/v1/ (session auth; CSRF token from the cookie;
 * a share-link token travels as the X-Share-Token header).
 */
import type { Element } from "./protocol";

export const API_ROOT = "/api/v1";

export interface BoardInfo {
  id: string;
  title: string;
  owner: { id: number; username: string };
  role: "owner" | "editor" | "viewer";
  link_access: "none" | "view" | "edit";
  head_seq: number;
  created_at: string;
  updated_at: string;
  url: string;
  /** A 320 x 200 PNG of the board at its head (revalidated by ETag). */
  thumbnail_url: string;
}
export interface ShareLinkInfo {
  id: number | string;
  token: string;
  url: string;
  role: "editor" | "viewer";
  label: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}
export interface MemberInfo {
  user: { id: number; username: string };
  role: "owner" | "editor" | "viewer";
  created_at: string;
}
/** A new share link: `expires_in_hours` null never expires. */
export interface NewShareLink {
  role: "editor" | "viewer";
  label: string;
  expires_in_hours: number | null;
}
export interface SnapshotInfo {
  id: number | string;
  seq: number;
  label: string;
  kind: "auto" | "manual";
  created_at: string;
}
/** One meaningful change (a whole stroke, or one other op), shown at `seq` (docs/api.md). */
export interface HistoryStep {
  seq: number;
  first_seq: number;
  kind: string;
  ops: number;
  at: string;
  author: { id: number; username: string } | null;
}
export interface Timeline {
  steps: HistoryStep[];
  truncated: boolean;
  head_seq: number;
}
export interface StateAt {
  seq: number;
  elements: Element[];
}

/** A 400's messages by field (docs/api.md "Errors"); `non_field_errors` for the rest. */
export type FieldErrors = Record<string, string[]>;

/** An API failure with the server's message and code when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | null,
    readonly fields: FieldErrors = {},
  ) {
    super(message);
    this.name = "ApiError";
  }
}

function cookie(name: string): string | null {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

let shareToken: string | null = null;

/** Send `X-Share-Token` with every request of this page (a board opened from a share link). */
export function useShareToken(token: string | null): void {
  shareToken = token;
}

function errorText(body: unknown, status: number): [string, string | null] {
  if (body && typeof body === "object") {
    const b = body as Record<string, unknown>;
    const code = typeof b.code === "string" ? b.code : null;
    if (typeof b.message === "string") return [b.message, code];
    if (typeof b.detail === "string") return [b.detail, code];
    const parts = Object.entries(b).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(" ") : String(v)}`);
    if (parts.length) return [parts.join("; "), code];
  }
  return [`Request failed (HTTP ${status})`, null];
}

/** The `errors` of a 400 body, keeping only string messages. */
function fieldErrors(body: unknown): FieldErrors {
  const errors = body && typeof body === "object" ? (body as { errors?: unknown }).errors : null;
  const out: FieldErrors = {};
  if (!errors || typeof errors !== "object") return out;
  for (const [field, messages] of Object.entries(errors)) {
    const list = (Array.isArray(messages) ? messages : [messages]).filter((m) => typeof m === "string");
    if (list.length) out[field] = list;
  }
  return out;
}

/** Fetch `path` under the API root; JSON in, JSON out (or a Blob when `blob` is set). */
export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  opts: { blob?: boolean } = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: opts.blob ? "*/*" : "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRFToken"] = cookie("csrftoken") ?? "";
  if (shareToken) headers["X-Share-Token"] = shareToken;
  const res = await fetch(API_ROOT + path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) {
    const parsed = await res.json().catch(() => null);
    const [message, code] = errorText(parsed, res.status);
    throw new ApiError(res.status, message, code, fieldErrors(parsed));
  }
  if (opts.blob) return (await res.blob()) as T;
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** DRF pages look like {results: [...]}; unpaginated lists are plain arrays. */
function results<T>(data: T[] | { results: T[] }): T[] {
  return Array.isArray(data) ? data : data.results;
}

const b = (id: string) => `/boards/${encodeURIComponent(id)}`;

export const api = {
  login: (username: string, password: string) =>
    request<unknown>("POST", "/auth/login/", { username, password }),
  signup: (username: string, password: string, email?: string) =>
    request<unknown>("POST", "/auth/signup/", { username, password, ...(email ? { email } : {}) }),
  logout: () => request<unknown>("POST", "/auth/logout/", {}),
  me: () => request<{ id: number; username: string }>("GET", "/auth/me/"),

  /** `shared` true: boards others own ("Shared with me"); false: the user's own. */
  listBoards: async (search = "", ordering = "-updated_at", shared: boolean | null = null) =>
    results(
      await request<BoardInfo[] | { results: BoardInfo[] }>(
        "GET",
        `/boards/?search=${encodeURIComponent(search)}&ordering=${encodeURIComponent(ordering)}` +
          (shared === null ? "" : `&shared=${shared}`),
      ),
    ),
  createBoard: (title: string) => request<BoardInfo>("POST", "/boards/", { title }),
  getBoard: (id: string) => request<BoardInfo>("GET", `${b(id)}/`),
  updateBoard: (id: string, patch: Partial<Pick<BoardInfo, "title" | "link_access">>) =>
    request<BoardInfo>("PATCH", `${b(id)}/`, patch),
  deleteBoard: (id: string) => request<void>("DELETE", `${b(id)}/`),

  listShareLinks: async (id: string) =>
    results(await request<ShareLinkInfo[] | { results: ShareLinkInfo[] }>("GET", `${b(id)}/share-links/`)),
  createShareLink: (id: string, link: NewShareLink) =>
    request<ShareLinkInfo>("POST", `${b(id)}/share-links/`, link),
  revokeShareLink: (id: string, linkId: number | string) =>
    request<void>("DELETE", `${b(id)}/share-links/${linkId}/`),

  listMembers: async (id: string) =>
    results(await request<MemberInfo[] | { results: MemberInfo[] }>("GET", `${b(id)}/members/`)),
  addMember: (id: string, username: string, role: "editor" | "viewer") =>
    request<MemberInfo>("POST", `${b(id)}/members/`, { username, role }),
  setMemberRole: (id: string, userId: number, role: "editor" | "viewer") =>
    request<MemberInfo>("PATCH", `${b(id)}/members/${userId}/`, { role }),
  removeMember: (id: string, userId: number) => request<void>("DELETE", `${b(id)}/members/${userId}/`),

  listSnapshots: async (id: string) =>
    results(await request<SnapshotInfo[] | { results: SnapshotInfo[] }>("GET", `${b(id)}/snapshots/`)),
  createSnapshot: (id: string, label: string) =>
    request<SnapshotInfo>("POST", `${b(id)}/snapshots/`, { label }),
  snapshotState: (id: string, sid: number | string) =>
    request<StateAt>("GET", `${b(id)}/snapshots/${sid}/state/`),
  restoreSnapshot: (id: string, sid: number | string) =>
    request<unknown>("POST", `${b(id)}/snapshots/${sid}/restore/`, {}),

  history: (id: string) => request<Timeline>("GET", `${b(id)}/history/`),
  stateAt: (id: string, seq: number) => request<StateAt>("GET", `${b(id)}/state/?seq=${seq}`),
  /** `query`: the export options, e.g. "?padding=0&dark=1" (ui/export-dialog.ts exportQuery). */
  exportFile: (id: string, format: "png" | "svg" | "json", query = "") =>
    request<Blob>("GET", `${b(id)}/export/${format}/${query}`, undefined, { blob: true }),
};
