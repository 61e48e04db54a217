/**
 * Test helpers: an in-memory KeyValueStore (localStorage stand-in) and element builders.
 */
import type { KeyValueStore } from "./outbox";
import type { Element } from "./protocol";

export class MemoryStore implements KeyValueStore {
  readonly data = new Map<string, string>();
  get length(): number {
    return this.data.size;
  }
  key(index: number): string | null {
    return [...this.data.keys()][index] ?? null;
  }
  getItem(key: string): string | null {
    return this.data.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.data.set(key, value);
  }
  removeItem(key: string): void {
    this.data.delete(key);
  }
}

export const STYLE = { color: "#1e1e1e", width: 4, opacity: 1, fill: null };

export function stroke(id: string, x = 0, y = 0, p = [0, 0]): Element {
  return { id, type: "stroke", x, y, style: { ...STYLE }, p };
}

export function rect(id: string, x = 0, y = 0, w = 10, h = 10): Element {
  return { id, type: "rect", x, y, w, h, style: { ...STYLE } };
}
