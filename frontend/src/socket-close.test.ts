import { describe, expect, it } from "vitest";
import { CloseCode } from "./protocol";
import { closeAction } from "./socket";
import { statusText } from "./ui/board-ui";

describe("closeAction (docs/protocol.md §7)", () => {
  it("sends a revoked or missing credential to the sign-in page", () => {
    expect(closeAction(CloseCode.UNAUTHENTICATED)).toEqual({ kind: "unauthenticated" });
  });

  it("does not claim a board is gone when it may only be out of reach", () => {
    const action = closeAction(CloseCode.NOT_FOUND);
    expect(action.kind).toBe("fatal");
    expect(action.kind === "fatal" && action.message).toMatch(/does not exist.*or you have no access/);
    expect(closeAction(CloseCode.FORBIDDEN)).toEqual({
      kind: "fatal",
      message: "Your access to this board was removed.",
    });
  });

  it("backs off from a socket cap and says why", () => {
    const action = closeAction(CloseCode.TOO_MANY_SOCKETS);
    expect(action).toEqual({ kind: "backoff", reason: "Too many open connections (close other tabs)" });
    const status = { kind: "reconnecting" as const, at: 10_500, reason: "Too many open connections (close other tabs)" };
    expect(statusText(status, false, false, 8_000)[1]).toBe(
      "Too many open connections (close other tabs). Reconnecting in 3s · your edits are kept",
    );
  });

  it("stops when another socket holds the tab's client id, instead of taking it back in a loop", () => {
    const action = closeAction(CloseCode.CLIENT_REPLACED);
    expect(action.kind).toBe("fatal");
    expect(action.kind === "fatal" && action.message).toMatch(/Reload/);
  });

  it("reconnects at once after a restart or a role change, with backoff otherwise", () => {
    expect(closeAction(CloseCode.SERVICE_RESTART)).toEqual({ kind: "jitter" });
    expect(closeAction(CloseCode.ROLE_CHANGED)).toEqual({ kind: "jitter" });
    expect(closeAction(CloseCode.TOO_SLOW)).toEqual({ kind: "backoff" });
    expect(closeAction(1006)).toEqual({ kind: "backoff" });
  });
});
