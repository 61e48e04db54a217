import { describe, expect, it } from "vitest";
import { presenceLabel } from "./presence";
import type { PresenceClient } from "./protocol";

const entry = (client_id: string, user_id: number | null, name = "ann"): PresenceClient => ({
  client_id,
  user_id,
  name,
  color: "#e03131",
  role: "editor",
});

describe("presenceLabel", () => {
  it("names our tab, our other tabs and everyone else apart", () => {
    expect(presenceLabel(entry("tab-one", 1), "tab-one", 1)).toBe("ann (you)");
    expect(presenceLabel(entry("tab-two", 1), "tab-one", 1)).toBe("ann (you, other tab)");
    expect(presenceLabel(entry("bobs-tab", 2, "bob"), "tab-one", 1)).toBe("bob");
  });

  it("marks guests, whatever name they chose", () => {
    expect(presenceLabel(entry("mallory", null, "ann"), "tab-one", 1)).toBe("ann (guest)");
    expect(presenceLabel(entry("mallory", null, "ann"), "guest-one", null)).toBe("ann (guest)");
  });

  it("cannot tell a guest's other tabs from other guests", () => {
    expect(presenceLabel(entry("guest-two", null, "guest"), "guest-one", null)).toBe("guest");
    expect(presenceLabel(entry("guest-one", null, "guest"), "guest-one", null)).toBe("guest (you)");
  });
});
