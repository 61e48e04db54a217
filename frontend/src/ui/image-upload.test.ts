import { describe, expect, it } from "vitest";
import { imageFiles, pastedImages } from "./image-input";
import { imageElement, MAX_SIDE } from "./image-upload";

const info = (width: number, height: number) => ({ id: "ab".repeat(32), mime: "image/png", width, height, bytes: 1 });

describe("imageElement", () => {
  it("keeps a small image's natural size, centred on the point", () => {
    const el = imageElement(info(200, 120), [500, 300]);
    expect([el.type, el.x, el.y, el.w, el.h, el.asset]).toEqual(["image", 400, 240, 200, 120, "ab".repeat(32)]);
  });

  it("scales a large one to MAX_SIDE on its longest side, keeping the aspect ratio", () => {
    const wide = imageElement(info(4000, 3000), [0, 0]);
    expect([wide.w, wide.h]).toEqual([MAX_SIDE, 768]);
    const tall = imageElement(info(10, 5000), [0, 0]);
    expect([tall.w, tall.h]).toEqual([2, MAX_SIDE]);
  });
});

describe("pasted images", () => {
  const png = new File([new Uint8Array([1])], "a.png", { type: "image/png" });
  const svg = new File([new Uint8Array([1])], "a.svg", { type: "image/svg+xml" });
  const paste = (types: string[], text: string, files: File[]) =>
    ({ types, getData: (t: string) => (t === "text/plain" ? text : ""), files }) as unknown as DataTransfer;

  it("takes image files of the four types only", () => {
    expect(imageFiles([png, svg])).toEqual([png]);
    expect(pastedImages(paste(["Files"], "", [png, svg]))).toEqual([png]);
  });

  it("leaves a paste with an Inkroom payload to the clipboard feature", () => {
    expect(pastedImages(paste(["application/x-inkroom+json", "Files"], "", [png]))).toEqual([]);
    expect(pastedImages(paste(["text/plain", "Files"], '{"type":"inkroom/elements"}', [png]))).toEqual([]);
  });
});
