import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Outbox } from "../outbox";
import type { ErrorMessage, HelloMessage } from "../protocol";
import { DEFAULT_LIMITS } from "../protocol";
import { refusalReason, SyncClient, type Frame } from "../sync";
import { MemoryStore, rect, stroke } from "../testing";
import { boardFullNotice, NOTICE_MS, statusText } from "./board-ui";

const hello: HelloMessage = {
  type: "hello",
  v: 1,
  client_id: "me",
  role: "editor",
  user: { id: 1, name: "ann" },
  board: { id: "b", title: "B", link_access: "none" },
  head_seq: 0,
  limits: { ...DEFAULT_LIMITS },
  presence: [],
};

const FULL: ErrorMessage = {
  type: "error",
  code: "board_full",
  message: "op.p: its strokes would pass 2,000,000 points, the most a board may have",
  ids: [2],
  field: "op.p",
};

function connected() {
  const frames: Frame[] = [];
  const client = new SyncClient(new Outbox(new MemoryStore(), "b", "me"), {
    change: vi.fn(),
    message: vi.fn(),
    session: vi.fn(),
  });
  client.attach((f) => frames.push(f));
  client.handle(hello);
  client.handle({ type: "synced", seq: 0 });
  const texts = () => frames.filter((f): f is string => typeof f === "string").map((f) => JSON.parse(f));
  return { client, texts };
}

describe("board_full", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(50_000);
  });
  afterEach(() => vi.useRealTimers());

  it("is final like invalid_op: the op leaves the outbox, the client resyncs, nothing is resent", () => {
    const { client, texts } = connected();
    client.submit([{ k: "add", el: rect("r") }, { k: "add", el: stroke("s", 0, 0, [0, 0, 1, 1]) }]);
    client.handle(FULL);
    expect(client.outbox.list().map((o) => o.i)).toEqual([1]);
    expect([...client.view().elements.keys()]).toEqual(["r"]);
    expect(texts()).toContainEqual({ type: "resync", from: 0 });
    vi.advanceTimersByTime(5_000); // unlike unavailable/rate_limited: no resend timer
    expect(client.outbox.list().map((o) => o.i)).toEqual([1]);
    expect(client.boardFull).toEqual({
      reason: "its strokes would pass 2,000,000 points, the most a board may have",
      at: 50_000,
    });
  });

  it("other refusals leave no board-full notice", () => {
    const { client } = connected();
    client.submit([{ k: "app", id: "ghost", p: [1, 1] }]);
    client.handle({ type: "error", code: "invalid_op", message: "op.id: no element", ids: [1], field: "op.id" });
    expect(client.boardFull).toBeNull();
  });

  it("shows the server's reason on the status line for a few seconds", () => {
    const refusal = { reason: "its text would pass 10 characters, the most a board may have", at: 1_000 };
    const notice = boardFullNotice(refusal, 1_000);
    expect(notice).toBe(
      "This board is full: its text would pass 10 characters, the most a board may have. Delete something to make room.",
    );
    expect(boardFullNotice(refusal, 1_000 + NOTICE_MS - 1)).toBe(notice);
    expect(boardFullNotice(refusal, 1_000 + NOTICE_MS)).toBeNull();
    expect(boardFullNotice(null, 1_000)).toBeNull();
    // While it lasts it replaces "Connected"; a connection problem still comes first.
    expect(statusText({ kind: "connected" }, false, true, 1_000, notice)).toEqual(["notice", notice]);
    expect(statusText({ kind: "connected" }, false, true, 1_000, null)).toEqual(["connected", "Connected"]);
    expect(statusText({ kind: "offline" }, false, true, 1_000, notice)[0]).toBe("offline");
  });

  it("strips only the server's field prefix from the message", () => {
    expect(refusalReason({ message: "op.el: it has 3 elements", field: "op.el" })).toBe("it has 3 elements");
    expect(refusalReason({ message: "board is full" })).toBe("board is full");
    expect(refusalReason({ message: "x: y", field: "op.p" })).toBe("x: y");
  });
});
