/**
 * Element transforms, pure: scale an element about its own centre and put that centre
 * somewhere else, turn it, and the `upd` patch between two versions of an element.
 *
 * Each type keeps its own model (SPEC16): a box shape changes x/y/w/h, a line or arrow its two
 * endpoints, a stroke its `sx`/`sy` (its point deltas never change) and x/y, a text its `size`
 * (and wrap width `w`) and x/y; a rotation is `rot`, except for lines and arrows whose
 * endpoints turn instead (so a binding's anchor stays where the end is drawn).
 */
import type { Element, ElementPatch } from "../protocol";
import { rotatePoint, rotationCentre, type Point } from "./geometry";

/** Stroke scale bounds (board/document/limits.py SCALE_MIN, SCALE_MAX). */
export const SCALE_MIN = 0.01;
export const SCALE_MAX = 100;
/** Text size bounds (limits.py TEXT_SIZE_MIN/MAX) and the widest wrap width (text `w`). */
const SIZE_MIN = 4;
const SIZE_MAX = 512;
const WRAP_MAX = 20_000;

const clampScale = (s: number): number => Math.sign(s || 1) * Math.min(SCALE_MAX, Math.max(SCALE_MIN, Math.abs(s)));
const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/** `deg` as a stored rotation: 0 <= rot < 360, to 0.01°; 0 means "no key" (null). */
export function normRot(deg: number): number {
  let r = Math.round((((deg % 360) + 360) % 360) * 100) / 100;
  if (r >= 360) r = 0;
  return r;
}

const withRot = (el: Element, rot: number): Element => {
  const next = { ...el };
  const r = normRot(rot);
  if (r === 0) delete next.rot;
  else next.rot = r;
  return next;
};

/** Whether a type's geometry is its two endpoints. */
export const isLinear = (el: Element): boolean => el.type === "line" || el.type === "arrow";
/** Whether a lone element of this type scales uniformly (a text's glyphs, an image's pixels). */
export const keepsAspect = (el: Element): boolean => el.type === "text" || (el.type as string) === "image";

/**
 * `el` scaled by (lx, ly) in its own unrotated frame about its rotation centre, then moved so
 * that centre lands on `to`. Negative factors mirror. Integer fields are rounded.
 */
export function scaleAbout(el: Element, lx: number, ly: number, to: Point): Element {
  const [cx, cy] = rotationCentre(el);
  const X = (u: number) => (u - cx) * lx + to[0];
  const Y = (v: number) => (v - cy) * ly + to[1];
  if (el.type === "stroke") {
    return { ...el, x: Math.round(X(el.x)), y: Math.round(Y(el.y)), sx: clampScale((el.sx ?? 1) * lx), sy: clampScale((el.sy ?? 1) * ly) };
  }
  if (el.type === "text") {
    const k = Math.sqrt(Math.abs(lx * ly));
    const next: Element = { ...el, size: clamp(Math.round((el.size ?? 24) * k), SIZE_MIN, SIZE_MAX) };
    // Scale about the centre by what the size could really become, so the block stays put.
    const real = (next.size ?? 24) / (el.size ?? 24);
    next.x = Math.round((el.x - cx) * real + to[0]);
    next.y = Math.round((el.y - cy) * real + to[1]);
    if (el.w !== undefined) next.w = clamp(Math.round(el.w * real), 1, WRAP_MAX);
    return next;
  }
  const w = el.w ?? 0;
  const h = el.h ?? 0;
  let x1 = Math.round(X(el.x));
  let y1 = Math.round(Y(el.y));
  let x2 = Math.round(X(el.x + w));
  let y2 = Math.round(Y(el.y + h));
  if (!isLinear(el)) {
    // A box shape is the same mirrored: keep w, h >= 0 as the shape tools draw them.
    [x1, x2] = [Math.min(x1, x2), Math.max(x1, x2)];
    [y1, y2] = [Math.min(y1, y2), Math.max(y1, y2)];
  }
  return { ...el, x: x1, y: y1, w: x2 - x1, h: y2 - y1 };
}

/**
 * `el` turned by `deg` about `pivot`: its centre goes round the pivot and its `rot` grows by
 * `deg`; a line's or arrow's endpoints turn instead.
 */
export function rotateAbout(el: Element, deg: number, pivot: Point): Element {
  if (isLinear(el)) {
    const [x1, y1] = rotatePoint(el.x, el.y, deg, pivot[0], pivot[1]);
    const [x2, y2] = rotatePoint(el.x + (el.w ?? 0), el.y + (el.h ?? 0), deg, pivot[0], pivot[1]);
    const x = Math.round(x1);
    const y = Math.round(y1);
    return { ...el, x, y, w: Math.round(x2) - x, h: Math.round(y2) - y };
  }
  const [cx, cy] = rotationCentre(el);
  const [nx, ny] = rotatePoint(cx, cy, deg, pivot[0], pivot[1]);
  const moved = { ...el, x: Math.round(el.x + nx - cx), y: Math.round(el.y + ny - cy) };
  return withRot(moved, (el.rot ?? 0) + deg);
}

/** The keys a transform may change, per element type (all are in reducer UPDATABLE). */
function transformKeys(el: Element): readonly (keyof ElementPatch)[] {
  if (el.type === "stroke") return ["x", "y", "sx", "sy", "rot"];
  if (el.type === "text") return ["x", "y", "size", "w", "rot"];
  if (isLinear(el)) return ["x", "y", "w", "h", "rot", "sb", "eb"];
  return ["x", "y", "w", "h", "rot"];
}

/** The `upd` patch taking `from` to `to` (null: a key `to` lacks), or null if they agree. */
export function patchBetween(from: Element, to: Element): ElementPatch | null {
  const patch: Record<string, unknown> = {};
  let any = false;
  for (const key of transformKeys(to)) {
    const a = (from as unknown as Record<string, unknown>)[key];
    const b = (to as unknown as Record<string, unknown>)[key];
    if (a !== b) {
      patch[key] = b ?? null;
      any = true;
    }
  }
  return any ? (patch as ElementPatch) : null;
}

/** The patch setting `keys` back to their values in `el` (null for keys it lacks). */
export function patchOf(el: Element, keys: Iterable<string>): ElementPatch {
  const patch: Record<string, unknown> = {};
  for (const key of keys) patch[key] = (el as unknown as Record<string, unknown>)[key] ?? null;
  return patch as ElementPatch;
}
