import { describe, expect, it } from "vitest";
import { Camera } from "./camera";
import { cameraKey, loadCamera, openingPlace, saveCamera } from "./camera-store";

function memory(): Storage {
  const m = new Map<string, string>();
  return {
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, v),
    removeItem: (k: string) => void m.delete(k),
    clear: () => m.clear(),
    key: (n: number) => [...m.keys()][n] ?? null,
    get length() {
      return m.size;
    },
  };
}

describe("camera storage", () => {
  it("keeps one camera per user and board", () => {
    const store = memory();
    saveCamera(store, cameraKey("7", "b1"), { x: 120, y: -40, zoom: 0.5 });
    expect(loadCamera(store, cameraKey("7", "b1"))).toEqual({ x: 120, y: -40, zoom: 0.5 });
    expect(loadCamera(store, cameraKey("8", "b1"))).toBeNull();
    expect(loadCamera(store, cameraKey("7", "b2"))).toBeNull();
  });

  it("treats junk as no camera and clamps the zoom", () => {
    const store = memory();
    store.setItem("a", "{not json");
    store.setItem("b", JSON.stringify({ x: 1, y: null, zoom: 1 }));
    store.setItem("c", JSON.stringify({ x: 1, y: 2, zoom: 1e9 }));
    expect(loadCamera(store, "a")).toBeNull();
    expect(loadCamera(store, "b")).toBeNull();
    expect(loadCamera(store, "c")?.zoom).toBe(20);
  });
});

describe("opening place", () => {
  it("leaves the camera alone when the content is in view or absent", () => {
    const cam = new Camera();
    expect(openingPlace(cam, null, 800, 600)).toBeNull();
    expect(openingPlace(cam, { minX: 10, minY: 10, maxX: 700, maxY: 500 }, 800, 600)).toBeNull();
  });

  it("centres far content at 100 % at most", () => {
    const place = openingPlace(new Camera(), { minX: 5000, minY: 5000, maxX: 5100, maxY: 5050 }, 800, 600)!;
    expect(place.zoom).toBe(1);
    expect(place.x + 400).toBeCloseTo(5050);
    expect(place.y + 300).toBeCloseTo(5025);
  });

  it("zooms out to fit a large board with a margin", () => {
    const place = openingPlace(new Camera(), { minX: -2000, minY: 0, maxX: 2000, maxY: 1000 }, 848, 600)!;
    expect(place.zoom).toBeCloseTo((848 - 96) / 4000);
    const cam = Object.assign(new Camera(), place);
    const [sx0] = cam.toScreen(-2000, 0);
    const [sx1] = cam.toScreen(2000, 0);
    expect(sx0).toBeCloseTo(48);
    expect(sx1).toBeCloseTo(800);
  });
});
