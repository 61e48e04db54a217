/**
 * The share dialog (owner only): members added by username with a role, the board's link
 * access, and share links with a label, a creation date and an expiry.
 */
import { api, type MemberInfo, type ShareLinkInfo } from "../api";
import { $, h, showError } from "./dom";

type Grantable = "editor" | "viewer";

/** "12 Dec 2026": dates in the dialog are for telling links apart, not to the minute. */
function day(iso: string): string {
  return new Date(iso).toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
}

/** The line under a link: role, when it was made and when it stops working. */
export function linkSummary(link: Pick<ShareLinkInfo, "role" | "created_at" | "expires_at">, now = Date.now()): string {
  const role = link.role === "editor" ? "Can edit" : "Can view";
  let expiry = "never expires";
  if (link.expires_at) {
    expiry = Date.parse(link.expires_at) <= now ? `expired ${day(link.expires_at)}` : `expires ${day(link.expires_at)}`;
  }
  return `${role} · created ${day(link.created_at)} · ${expiry}`;
}

export class ShareDialog {
  constructor(private readonly boardId: string) {
    $("share-form").addEventListener("submit", (e) => {
      e.preventDefault();
      void this.createLink();
    });
    $("member-form").addEventListener("submit", (e) => {
      e.preventDefault();
      void this.addMember();
    });
    $("link-access").addEventListener("change", () => void this.setLinkAccess());
  }

  async open(): Promise<void> {
    const dlg = $<HTMLDialogElement>("dlg-share");
    $("share-error").hidden = true;
    $("member-error").hidden = true;
    dlg.showModal();
    try {
      const [board, members, links] = await Promise.all([
        api.getBoard(this.boardId),
        api.listMembers(this.boardId),
        api.listShareLinks(this.boardId),
      ]);
      $<HTMLSelectElement>("link-access").value = board.link_access;
      this.renderMembers(members);
      this.renderLinks(links);
    } catch (err) {
      showError($("share-error"), err);
    }
  }

  private renderMembers(members: MemberInfo[]): void {
    $("member-list").replaceChildren(
      ...members.map((m) => {
        const name = h("span", { class: "grow", text: m.user.username });
        if (m.role === "owner") return h("li", { "data-user": m.user.username }, name, h("span", { class: "muted", text: "Owner" }));
        const role = h("select", { "aria-label": `Role of ${m.user.username}` },
          h("option", { value: "editor", text: "Editor" }), h("option", { value: "viewer", text: "Viewer" }));
        role.value = m.role;
        role.addEventListener("change", () => void this.memberAction(() => api.setMemberRole(this.boardId, m.user.id, role.value as Grantable)));
        const remove = h("button", { type: "button", text: "Remove", "aria-label": `Remove ${m.user.username}` });
        remove.addEventListener("click", () => void this.memberAction(() => api.removeMember(this.boardId, m.user.id)));
        return h("li", { "data-user": m.user.username }, name, role, remove);
      }),
    );
  }

  private async addMember(): Promise<void> {
    const input = $<HTMLInputElement>("member-username");
    const username = input.value.trim();
    if (!username) return;
    const role = $<HTMLSelectElement>("member-role").value as Grantable;
    if (await this.memberAction(() => api.addMember(this.boardId, username, role))) input.value = "";
  }

  /** Run a member change, then show the list as it now is; false if it was refused. */
  private async memberAction(change: () => Promise<unknown>): Promise<boolean> {
    $("member-error").hidden = true;
    try {
      await change();
      this.renderMembers(await api.listMembers(this.boardId));
      return true;
    } catch (err) {
      showError($("member-error"), err);
      return false;
    }
  }

  private renderLinks(links: ShareLinkInfo[]): void {
    const live = links.filter((l) => !l.revoked_at);
    $("share-links").replaceChildren(
      ...live.map((link) => {
        const name = link.label || "Untitled link";
        const url = new URL(link.url || `/b/${this.boardId}/?share=${link.token}`, location.origin).href;
        const copy = h("button", { type: "button", "aria-label": `Copy link ${name}`, text: "Copy" });
        copy.addEventListener("click", () => {
          void navigator.clipboard?.writeText(url).then(() => (copy.textContent = "Copied"));
        });
        const revoke = h("button", { type: "button", "aria-label": `Revoke link ${name}`, text: "Revoke" });
        revoke.addEventListener("click", () => void this.linkAction(() => api.revokeShareLink(this.boardId, link.id)));
        const field = h("input", { readonly: "", value: url, "aria-label": `URL of link ${name}`, class: "grow" });
        return h(
          "li",
          { "data-link-id": String(link.id), class: "link" },
          h("div", { class: "link-head" }, h("strong", { text: name }), h("span", { class: "muted", text: linkSummary(link) })),
          field,
          copy,
          revoke,
        );
      }),
    );
  }

  private async createLink(): Promise<void> {
    const label = $<HTMLInputElement>("share-label");
    const hours = $<HTMLSelectElement>("share-expiry").value;
    const created = await this.linkAction(() =>
      api.createShareLink(this.boardId, {
        role: $<HTMLSelectElement>("share-role").value as Grantable,
        label: label.value.trim(),
        expires_in_hours: hours ? Number(hours) : null,
      }),
    );
    if (created) label.value = "";
  }

  private async linkAction(change: () => Promise<unknown>): Promise<boolean> {
    $("share-error").hidden = true;
    try {
      await change();
      this.renderLinks(await api.listShareLinks(this.boardId));
      return true;
    } catch (err) {
      showError($("share-error"), err);
      return false;
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
}
