import { encode as mpEncode } from "@msgpack/msgpack";
import { describe, expect, it, vi } from "vitest";
import { appEntry, CompactError, encodeDownTent, encodePromote, nextEntry, packPoints, v1Entry } from "./compact";
import type { Op } from "./protocol";
import { DEFAULT_LIMITS, encodeServer } from "./protocol";
import { liveSyncClient, rect, stroke } from "./testing";
import { WireSession } from "./wire";

// Compact tentatives (protocol §2.6, `tentative=2`): DOWN_TENT and DOWN_PROMOTE.

const hex = (text: string): Uint8Array => Uint8Array.from(text.split(" ").map((b) => parseInt(b, 16)));

describe("DOWN_TENT and DOWN_PROMOTE", () => {
  // protocol.md §2.6's example, bytes made by the reference server (realtime/wire/handles.py).
  it("decodes the protocol's example byte for byte", () => {
    const wire = new WireSession();
    const first = wire.decode(
      hex("07 02 00 0a 6b 32 4a 64 38 73 30 61 51 65 01 08 71 33 5a 72 38 61 50 63 01 01 00 29 01 04 80 80"),
    );
    const op = { c: "k2Jd8s0aQe", i: 41, k: "app", id: "q3Zr8aPc", p: [1, 1, 2, 2] };
    expect(first).toEqual({ t: "tent", ops: [op] });
    expect(wire.decode(hex("08 e8 07 01"))).toEqual({ t: "ops", ops: [{ ...op, s: 1000 }] });
    // Op 42 continues op 41's stroke: a tag-3 entry of the author handle and the points.
    expect(wire.decode(hex("07 00 01 03 00 04 80 80"))).toEqual({ t: "tent", ops: [{ ...op, i: 42 }] });
    expect(wire.decode(hex("08 e9 07 01"))).toEqual({ t: "ops", ops: [{ ...op, i: 42, s: 1001 }] });
    // Any other op goes as a tag-0 entry: the op with its `c` and `u`.
    const upd = hex(
      "07 00 01 00 2e 86 a1 69 2b a1 6b a3 75 70 64 a2 69 64 a8 71 33 5a 72 38 61 50 63 a3 73 65 74 81 a1 78 01 a1 63 aa 6b 32 4a 64 38 73 30 61 51 65 a1 75 01",
    );
    const set = { i: 43, k: "upd", id: "q3Zr8aPc", set: { x: 1 }, c: "k2Jd8s0aQe", u: 1 };
    expect(wire.decode(upd)).toEqual({ t: "tent", ops: [set] });
  });

  it("promotes only the batch it follows: a frame of entries or a resync ends it", () => {
    const wire = new WireSession();
    const tent = encodeDownTent([[0, "other"], [1, "s"]], [appEntry(0, 2, 1, packPoints([1, 1]))]);
    wire.decode(tent);
    wire.decode(encodeServer({ t: "ops", ops: [] }) as Uint8Array);
    expect(wire.decode(encodePromote(1, 1))).toBeNull();
    wire.decode(encodeDownTent([], [nextEntry(0, packPoints([1, 1]))]));
    wire.dropBatch();
    expect(wire.decode(encodePromote(1, 1))).toBeNull();
    // A count that is not the batch's is malformed (the client reconnects).
    wire.decode(encodeDownTent([], [nextEntry(0, packPoints([1, 1]))]));
    expect(() => wire.decode(encodePromote(1, 2))).toThrow(CompactError);
  });
});

/** The tag-0 entry of a DOWN_TENT: the op with `c` and `u`, as msgpack. */
const tag0 = (op: Op, c: string): Uint8Array => v1Entry(mpEncode({ ...op, c, u: 1 }));

describe("SyncClient with compact tentatives", () => {
  it("shows others' DOWN_TENT ops, and the promotion confirms them and acks its own", async () => {
    const { client } = liveSyncClient();
    const [own] = client.submit([{ k: "add", el: rect("mine") }]);
    await new Promise<void>((r) => queueMicrotask(r));
    const theirs: Op = { i: 7, k: "add", el: stroke("s") } as Op;
    client.receive(encodeDownTent([], [tag0(own, "me"), tag0(theirs, "other")]));
    expect(client.tentativeCount).toBe(1); // its own op is in the outbox, not a tentative
    expect(client.view().elements.has("s")).toBe(true);
    expect(client.applied).toBe(0);
    client.receive(encodePromote(1, 2));
    expect(client.applied).toBe(2);
    expect(client.tentativeCount).toBe(0);
    expect(client.outbox.size).toBe(0);
    expect([...client.confirmed.elements.keys()].sort()).toEqual(["mine", "s"]);
  });

  it("holds a promotion past a gap like any entries, and resyncs for it", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const { client, sent } = liveSyncClient();
      client.receive(encodeDownTent([], [tag0({ i: 1, k: "add", el: rect("a") } as Op, "other")]));
      client.receive(encodePromote(5, 1));
      expect(client.applied).toBe(0);
      expect(client.tentativeCount).toBe(1);
      vi.advanceTimersByTime(DEFAULT_LIMITS.gap_wait_ms + 1);
      expect(sent.filter((f) => typeof f === "string").map((f) => JSON.parse(f as string))).toContainEqual({
        type: "resync",
        from: 0,
      });
      expect(client.tentativeCount).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
