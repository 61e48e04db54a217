import { describe, expect, it } from "vitest";
import { linkSummary } from "./share-dialog";

describe("linkSummary", () => {
  const now = Date.parse("2026-12-07T12:00:00Z");
  const created_at = "2026-12-01T09:00:00Z";

  it("says what the link grants, when it was made and that it never expires", () => {
    const text = linkSummary({ role: "editor", created_at, expires_at: null }, now);
    expect(text).toMatch(/^Can edit · created .*2026 · never expires$/);
  });

  it("tells a link still to expire from one that has", () => {
    expect(linkSummary({ role: "viewer", created_at, expires_at: "2026-12-14T12:00:00Z" }, now)).toMatch(/^Can view · .* · expires /);
    expect(linkSummary({ role: "viewer", created_at, expires_at: "2026-12-06T12:00:00Z" }, now)).toMatch(/ · expired /);
  });
});
