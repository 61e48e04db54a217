/**
 * The sticky-note tool: a click places a NOTE_SIDE square note centred on the pointer (a drag
 * places it where the press ended, as tldraw does), filled with the palette's fill or yellow,
 * and opens its label for typing.
 */
import type { Box } from "../ops";
import type { Element } from "../protocol";
import { addedEntry } from "../undo";
import { newElementId, type PointerSample, type Tool, type ToolHost } from "./tool";

/** A new note's side, world units. */
export const NOTE_SIDE = 200;
/** The name a new frame gets (renamed by double-click or its menu). */
export const FRAME_NAME = "Frame";

export class NoteTool implements Tool {
  private at: PointerSample | null = null;
  private id: string | null = null;

  constructor(private readonly host: ToolHost) {}

  down(p: PointerSample): void {
    this.at = p;
  }

  move(samples: readonly PointerSample[]): void {
    const p = samples[samples.length - 1];
    if (this.at && p) this.at = p;
  }

  up(): void {
    const p = this.at;
    this.at = null;
    if (!p) return;
    const el = this.note(p);
    this.id = null; // the next note is a new element
    this.host.submit([{ k: "add", el }]);
    this.host.record(addedEntry([el.id]));
    // Typing starts at once, as in tldraw: the note's label (empty: no label, the note stays).
    this.host.editText({ kind: "element", id: el.id });
  }

  cancel(): void {
    this.at = null;
  }

  tick(): void {}

  drafts(): Element[] {
    return this.at ? [this.note(this.at)] : [];
  }

  marquee(): Box | null {
    return null;
  }

  private note(p: PointerSample): Element {
    const half = NOTE_SIDE / 2;
    return {
      id: this.draftId,
      type: "note",
      x: Math.round(p.x - half),
      y: Math.round(p.y - half),
      w: NOTE_SIDE,
      h: NOTE_SIDE,
      style: this.host.style("note"),
    };
  }

  /** One id per placement: the draft and the note sent are the same element. */
  private get draftId(): string {
    this.id ??= newElementId();
    return this.id;
  }
}
