/**
 * Each board's camera, per user, in localStorage: a reload or a later visit opens where the
 * user left off. A board opened for the first time is framed on its content instead.
 */
import type { Box } from "../ops";
import { Camera, MAX_ZOOM, MIN_ZOOM } from "./camera";

export interface CameraPlace {
  x: number;
  y: number;
  zoom: number;
}

/** `user` is the account id, or "guest" for a share-link holder without one. */
export function cameraKey(user: string, boardId: string): string {
  return `inkroom:v1:camera:${user}:${boardId}`;
}

/** The stored camera, or null when there is none (or it is unreadable: then it is a first open). */
export function loadCamera(store: Pick<Storage, "getItem">, key: string): CameraPlace | null {
  try {
    const v = JSON.parse(store.getItem(key) ?? "null") as Partial<CameraPlace> | null;
    if (!v || ![v.x, v.y, v.zoom].every((n) => typeof n === "number" && Number.isFinite(n))) return null;
    return { x: v.x!, y: v.y!, zoom: Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, v.zoom!)) };
  } catch {
    return null;
  }
}

export function saveCamera(store: Pick<Storage, "setItem">, key: string, cam: CameraPlace): void {
  try {
    store.setItem(key, JSON.stringify({ x: cam.x, y: cam.y, zoom: cam.zoom }));
  } catch {
    // Storage full or refused (private mode): the camera just is not remembered.
  }
}

/**
 * Where a first open puts the camera: unchanged (null) when the content is already in view, or
 * there is none; else the content's box fitted to the screen, never magnified past 100 % (a lone
 * small sketch should not open at 400 %).
 */
export function openingPlace(cam: Camera, box: Box | null, width: number, height: number): CameraPlace | null {
  if (!box || width <= 0 || height <= 0) return null;
  const [x0, y0] = cam.toWorld(0, 0);
  const [x1, y1] = cam.toWorld(width, height);
  if (box.minX >= x0 && box.minY >= y0 && box.maxX <= x1 && box.maxY <= y1) return null;
  const fitted = new Camera();
  fitted.fit(box, width, height, 48, 1);
  return { x: fitted.x, y: fitted.y, zoom: fitted.zoom };
}
