import { describe, expect, it } from "vitest";
import { statusText } from "./board-ui";

describe("statusText", () => {
  it("tells the user honestly where the connection stands", () => {
    expect(statusText({ kind: "connected" }, false, true)).toEqual(["connected", "Connected"]);
    expect(statusText({ kind: "connected" }, true, true)[1]).toContain("read-only");
    expect(statusText({ kind: "connected" }, false, false)[1]).toBe("Syncing…");
    expect(statusText({ kind: "reconnecting", at: 10_500 }, false, false, 8_000)[1]).toBe(
      "Reconnecting in 3s · your edits are kept",
    );
    expect(statusText({ kind: "offline" }, false, false)[0]).toBe("offline");
    expect(statusText({ kind: "fatal", code: 4004, message: "gone" }, false, false)).toEqual(["fatal", "gone"]);
  });
});
