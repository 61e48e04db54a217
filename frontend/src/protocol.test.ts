import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { decode as mpDecode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { CloseCode, decode, decodeClient, encode, encodeServer, isKnownType, PROTOCOL_VERSION, ProtocolError } from "./protocol";

describe("codec", () => {
  it("sends hot-path messages as msgpack and control messages as JSON", () => {
    const ops = encode({ t: "ops", ops: [{ i: 1, k: "app", id: "s", p: [1, -2], pr: [50] }] });
    expect(ops).toBeInstanceOf(Uint8Array);
    expect(mpDecode(ops as Uint8Array)).toEqual({ t: "ops", ops: [{ i: 1, k: "app", id: "s", p: [1, -2], pr: [50] }] });
    expect(encode({ type: "resync", from: 7 })).toBe('{"type":"resync","from":7}');
    expect(typeof encode({ type: "ping", t: 3 })).toBe("string");
    expect(encode({ t: "cur", x: 1, y: 2, vp: [0, 0, 10, 10] })).toBeInstanceOf(Uint8Array);
  });

  it("decodes server frames of both kinds", () => {
    const ack = encodeServer({ t: "ack", a: [[41, 907]] });
    expect(decode(ack as Uint8Array)).toEqual({ t: "ack", a: [[41, 907]] });
    expect(decode((ack as Uint8Array).slice().buffer)).toEqual({ t: "ack", a: [[41, 907]] });
    expect(decode('{"type":"synced","seq":3}')).toEqual({ type: "synced", seq: 3 });
  });

  it("rejects garbage with ProtocolError", () => {
    expect(() => decode("{nope")).toThrow(ProtocolError);
    expect(() => decode('{"type":"warp"}')).toThrow(ProtocolError);
    expect(() => decode("[1,2]")).toThrow(ProtocolError);
    expect(() => decode(new Uint8Array([0xc1]))).toThrow(ProtocolError);
    expect(() => decode(encodeServer({ t: "ack", a: [] }).toString())).toThrow(ProtocolError);
  });

  it("names the documented version and close codes", () => {
    expect(PROTOCOL_VERSION).toBe(2);
    expect(CloseCode.SERVICE_RESTART).toBe(1012);
    expect(CloseCode.TOO_SLOW).toBe(4008);
    expect(CloseCode.RATE_LIMITED).toBe(4029);
  });
});

interface Fixture {
  name: string;
  direction: string;
  kind: string;
  message: Record<string, unknown>;
}

const FIXTURES = join(import.meta.dirname, "..", "..", "tests", "fixtures", "protocol");

// Read unconditionally: a missing or moved fixtures folder fails this suite instead of skipping it.
function loadFixtures(): Fixture[] {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .flatMap((f) => {
      const data = JSON.parse(readFileSync(join(FIXTURES, f), "utf8")) as Fixture | Fixture[];
      return Array.isArray(data) ? data : [data];
    });
}

const fixtures = loadFixtures();
const isBinary = (f: Fixture) => /bin|msgpack/i.test(f.kind);
const direction = (f: Fixture): "c2s" | "s2c" => (/^(c|client)/i.test(f.direction) ? "c2s" : "s2c");

describe("golden fixtures (tests/fixtures/protocol)", () => {
  it("holds a fixture of every message type", () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(10);
  });

  it.each(fixtures.map((f) => [f.name, f] as const))("%s round-trips", (_name, f) => {
    const typeKey = isBinary(f) ? "t" : "type";
    expect(isKnownType(direction(f), isBinary(f), String(f.message[typeKey]))).toBe(true);
    if (direction(f) === "s2c") {
      const frame = isBinary(f) ? (encodeServer(f.message as never) as Uint8Array) : JSON.stringify(f.message);
      expect(decode(frame)).toEqual(f.message);
    } else {
      const frame = encode(f.message as never);
      expect(typeof frame === "string").toBe(!isBinary(f));
      expect(decodeClient(frame)).toEqual(f.message);
    }
  });
});
