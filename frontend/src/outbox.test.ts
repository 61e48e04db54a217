import { describe, expect, it } from "vitest";
import { isRegistered, Outbox, registerWriter, writersOf } from "./outbox";
import type { Op } from "./protocol";
import { MemoryStore, rect } from "./testing";

describe("Outbox", () => {
  it("registers writers and lists every writer of a board, by counter or by op", () => {
    const store = new MemoryStore();
    expect(registerWriter(store, "b1", "writer-one")).toBe(true);
    expect(isRegistered(store, "b1", "writer-one")).toBe(true);
    expect(isRegistered(store, "b2", "writer-one")).toBe(false);
    const other = new Outbox(store, "b1", "writer-two");
    other.push({ i: other.nextId(), k: "clr" });
    store.removeItem("inkroom:v1:next:b1:writer-two"); // only its op is left
    new Outbox(store, "b10", "writer-ten").push({ i: 1, k: "clr" });
    store.setItem("inkroom:v1:next:b1:bad id!", "3");
    expect(writersOf(store, "b1")).toEqual(new Set(["writer-one", "writer-two"]));
    expect(writersOf(store, "b10")).toEqual(new Set(["writer-ten"]));
  });

  it("keeps an existing counter when registering, and retires a writer only once it is empty", () => {
    const store = new MemoryStore();
    const ob = new Outbox(store, "b", "writer-1");
    ob.push({ i: ob.nextId(), k: "clr" });
    registerWriter(store, "b", "writer-1");
    expect(store.getItem("inkroom:v1:next:b:writer-1")).toBe("1");
    expect(ob.retire()).toBe(false);
    expect(isRegistered(store, "b", "writer-1")).toBe(true);
    ob.remove(1);
    expect(ob.retire()).toBe(true);
    expect(isRegistered(store, "b", "writer-1")).toBe(false);
    expect(writersOf(store, "b").size).toBe(0);
  });

  it("survives a reload: unacked ops come back in i order and ids keep increasing", () => {
    const store = new MemoryStore();
    const first = new Outbox(store, "b", "client-1");
    const ops: Op[] = [];
    for (let n = 0; n < 5; n++) {
      const op: Op = { i: first.nextId(), k: "add", el: rect(`e${n}`) };
      first.push(op);
      ops.push(op);
    }
    first.remove(ops[1].i);
    first.remove(ops[3].i);
    const reloaded = new Outbox(store, "b", "client-1");
    expect(reloaded.list().map((op) => op.i)).toEqual([1, 3, 5]);
    expect(reloaded.list()[2]).toEqual(ops[4]);
    expect(reloaded.nextId()).toBe(6);
  });

  it("never reuses an id even if only the ops survived (counter key lost)", () => {
    const store = new MemoryStore();
    const ob = new Outbox(store, "b", "c1");
    for (let n = 0; n < 3; n++) ob.push({ i: ob.nextId(), k: "clr" });
    store.removeItem("inkroom:v1:next:b:c1");
    expect(new Outbox(store, "b", "c1").nextId()).toBe(4);
  });

  it("is scoped by board and client id", () => {
    const store = new MemoryStore();
    const a = new Outbox(store, "b", "c1");
    a.push({ i: a.nextId(), k: "clr" });
    expect(new Outbox(store, "b", "c2").size).toBe(0);
    expect(new Outbox(store, "other", "c1").size).toBe(0);
    expect(new Outbox(store, "b", "c1").size).toBe(1);
  });

  it("costs one storage key per op (no rewrite of the whole backlog)", () => {
    const store = new MemoryStore();
    const ob = new Outbox(store, "b", "c1");
    let writes = 0;
    const set = store.setItem.bind(store);
    store.setItem = (k, v) => {
      writes += 1;
      set(k, v);
    };
    for (let n = 0; n < 100; n++) ob.push({ i: ob.nextId(), k: "clr" });
    expect(writes).toBe(200); // one op key + the counter, per op
    expect(ob.remove(5)).toBe(true);
    expect(ob.remove(5)).toBe(false);
    expect(store.getItem("inkroom:v1:ob:b:c1:5")).toBeNull();
  });

  it("drops corrupt entries instead of failing to load", () => {
    const store = new MemoryStore();
    store.setItem("inkroom:v1:ob:b:c1:7", "{not json");
    expect(new Outbox(store, "b", "c1").size).toBe(0);
    expect(store.getItem("inkroom:v1:ob:b:c1:7")).toBeNull();
  });
});
