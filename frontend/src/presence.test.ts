import { describe, expect, it } from "vitest";
import { applyPresenceDelta, colorFor, distinctColors, presenceLabel, USER_COLORS } from "./presence";
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

describe("applyPresenceDelta", () => {
  it("sets, adds and removes entries, keeping the order of those that stay", () => {
    const list = [entry("a-tab", 1, "ann"), entry("b-tab", 2, "bob"), entry("c-tab", 3, "cy")];
    const next = applyPresenceDelta(list, {
      set: [entry("b-tab", 2, "Bobby"), entry("d-tab", 4, "dee")],
      gone: ["a-tab"],
    });
    expect(next.map((c) => [c.client_id, c.name])).toEqual([
      ["b-tab", "Bobby"],
      ["c-tab", "cy"],
      ["d-tab", "dee"],
    ]);
    // Applying the same delta again changes nothing (a delta after a newer hello list).
    expect(applyPresenceDelta(next, { set: [entry("b-tab", 2, "Bobby")], gone: ["a-tab"] })).toEqual(next);
  });
});

describe("distinctColors", () => {
  it("gives people whose preferred colours collide different ones", () => {
    // Both names hash to the same palette entry, which is what they used to be shown in.
    expect(colorFor("erin")).toBe(colorFor("frank"));
    const colors = distinctColors([entry("e-tab", 4, "erin"), entry("f-tab", 5, "frank")]);
    expect(colors.get("e-tab")).not.toBe(colors.get("f-tab"));
  });

  it("is the same whatever order the list arrives in, and one colour for a user's tabs", () => {
    const list = [entry("a1", 7), entry("b", 3), entry("a2", 7), entry("g", null), entry("h", null)];
    const one = distinctColors(list);
    const two = distinctColors([...list].reverse());
    expect([...one].sort()).toEqual([...two].sort());
    expect(one.get("a1")).toBe(one.get("a2"));
    expect(one.get("g")).not.toBe(one.get("h"));
  });

  it("uses every palette colour before repeating one", () => {
    const n = USER_COLORS.length;
    const many = Array.from({ length: n + 3 }, (_, k) => entry(`tab-${k}`, k + 1));
    const colors = distinctColors(many);
    expect(new Set(many.slice(0, n).map((c) => colors.get(c.client_id))).size).toBe(n);
    expect(new Set(colors.values()).size).toBe(n);
  });
});

describe("laser cursors", () => {
  it("a row with the laser flag grows that client's trail; a plain row lifts it", async () => {
    const { Presence } = await import("./presence");
    const sent: unknown[] = [];
    const sync = { clientId: "me", synced: true, limits: { cursor_ms: 0 }, sendMessage: (m: unknown) => sent.push(m) };
    const presence = new Presence(sync as never, () => {}, () => {});
    presence.handle({ t: "cur", c: [["bob", 1, 2, null, 1]] });
    presence.handle({ t: "cur", c: [["bob", 9, 2, [0, 0, 10, 10], 1]] });
    const now = Date.now();
    expect(presence.laser.visible(now).map((s) => [s.x0, s.x1])).toEqual([[1, 9]]);
    presence.handle({ t: "cur", c: [["bob", 20, 2]] });
    presence.handle({ t: "cur", c: [["bob", 30, 2, null, 1]] });
    // The lift broke the trail: the new point is a dot of its own, not a line from 9.
    expect(presence.laser.visible(now).map((s) => [s.x0, s.x1])).toEqual([[1, 9], [30, 30]]);
    expect(presence.remoteCursors().map((c) => c.x)).toEqual([30]);
    // Our own laser: drawn locally and sent with l: 1 while down, without it once up.
    presence.pointLaser(5, 5, true, [0, 0, 100, 100]);
    presence.pointLaser(6, 5, false, [0, 0, 100, 100]);
    expect(sent).toEqual([
      { t: "cur", x: 5, y: 5, vp: [0, 0, 100, 100], l: 1 },
      { t: "cur", x: 6, y: 5, vp: [0, 0, 100, 100] },
    ]);
  });
});
