/**
 * The sign-in and sign-up pages: forms posting to the session auth API.
 */
import { api } from "../api";
import { $, showError } from "../ui/dom";

/** Only same-site paths are followed after sign-in (no open redirect). */
export function safeNext(next: string | undefined): string {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

export function authPage(): void {
  const mode = document.body.dataset.mode === "signup" ? "signup" : "login";
  const form = $<HTMLFormElement>("auth-form");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const username = $<HTMLInputElement>("username").value.trim();
    const password = $<HTMLInputElement>("password").value;
    const error = $("auth-error");
    error.hidden = true;
    try {
      if (mode === "signup") {
        const email = document.getElementById("email") as HTMLInputElement | null;
        await api.signup(username, password, email?.value.trim());
      } else {
        await api.login(username, password);
      }
      location.assign(safeNext(document.body.dataset.next));
    } catch (err) {
      showError(error, err);
    }
  });
}
