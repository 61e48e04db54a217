/**
 * Groups and lock as the select tool sees them: a click takes an element's outermost group, and
 * a selected locked element wears a padlock. (Making groups and locking: arrange.ts.)
 */
import { boundsOf, type BoardState } from "../ops";
import type { Element } from "../protocol";

/** The outermost group of `el`, or null. */
export const outermost = (el: Element): string | null => el.grp?.[el.grp.length - 1] ?? null;

/** Every element in `el`'s outermost group (or `el` alone): what a click selects. */
export function groupOf(state: BoardState, el: Element): string[] {
  const g = outermost(el);
  if (g === null) return [el.id];
  return [...state.elements.values()].filter((m) => m.grp?.includes(g)).map((m) => m.id);
}

/** The ids of `els` and of every element sharing an outermost group with one of them. */
export function withGroups(state: BoardState, els: readonly Element[]): string[] {
  const groups = new Set(els.map(outermost).filter((g): g is string => g !== null));
  const out = els.map((el) => el.id);
  if (groups.size === 0) return out;
  for (const el of state.elements.values()) if (el.grp?.some((g) => groups.has(g))) out.push(el.id);
  return [...new Set(out)];
}

/** Badge colour of a selected locked element. */
const BADGE = { color: "#495057", width: 1.5, opacity: 1 };

/** A small padlock (drafts) at the top-right corner of each selected locked element. */
export function lockBadges(state: BoardState, selection: ReadonlySet<string>, zoom: number): Element[] {
  const out: Element[] = [];
  const u = 1 / zoom;
  for (const id of selection) {
    const el = state.elements.get(id);
    if (!el?.lock) continue;
    const b = boundsOf(el);
    const x = Math.round(b.maxX + 4 * u);
    const y = Math.round(b.minY - 14 * u);
    const body = { ...BADGE, width: BADGE.width * u, fill: BADGE.color };
    const shackle = { ...BADGE, width: BADGE.width * u, fill: null };
    out.push(
      { id: `lock-shackle-${id}`, type: "ellipse", x: Math.round(x + 2 * u), y, w: Math.max(1, Math.round(8 * u)), h: Math.max(1, Math.round(10 * u)), style: shackle },
      { id: `lock-body-${id}`, type: "rect", x, y: Math.round(y + 5 * u), w: Math.max(1, Math.round(12 * u)), h: Math.max(1, Math.round(9 * u)), style: body },
    );
  }
  return out;
}
