/**
 * The sign-in and sign-up pages: forms posting to the session auth API.
 */
import { api, ApiError } from "../api";
import { $, showError } from "../ui/dom";

/** The form's fields that can carry an error of their own (an element `<field>-error` each). */
const FIELDS = ["username", "email", "password"];

/** Only same-site paths are followed after sign-in (no open redirect). */
export function safeNext(next: string | undefined): string {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

/** Clear the per-field messages and the form-wide one. */
function clearErrors(): void {
  $("auth-error").hidden = true;
  for (const field of FIELDS) {
    document.getElementById(`${field}-error`)?.setAttribute("hidden", "");
    document.getElementById(field)?.removeAttribute("aria-invalid");
  }
}

/**
 * Show each field's messages under its input (a 400's `errors`, e.g. "This username is taken.",
 * "This password is too common."); the rest, and any other failure, in the form-wide line. The
 * API's own message for a 400 is only "Invalid input.", which tells nobody what to change.
 */
function showErrors(err: unknown): void {
  const fields = err instanceof ApiError ? err.fields : {};
  const rest: string[] = [];
  let first: HTMLElement | null = null;
  for (const [field, messages] of Object.entries(fields)) {
    const slot = FIELDS.includes(field) ? document.getElementById(`${field}-error`) : null;
    const input = document.getElementById(field);
    if (!slot || !input) {
      rest.push(...messages);
      continue;
    }
    slot.textContent = messages.join(" ");
    slot.hidden = false;
    input.setAttribute("aria-invalid", "true");
    first ??= input;
  }
  if (rest.length) showError($("auth-error"), rest.join(" "));
  else if (!first) showError($("auth-error"), err);
  first?.focus();
}

export function authPage(): void {
  const mode = document.body.dataset.mode === "signup" ? "signup" : "login";
  const form = $<HTMLFormElement>("auth-form");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const username = $<HTMLInputElement>("username").value.trim();
    const password = $<HTMLInputElement>("password").value;
    clearErrors();
    try {
      if (mode === "signup") {
        const email = document.getElementById("email") as HTMLInputElement | null;
        await api.signup(username, password, email?.value.trim());
      } else {
        await api.login(username, password);
      }
      location.assign(safeNext(document.body.dataset.next));
    } catch (err) {
      showErrors(err);
    }
  });
}
