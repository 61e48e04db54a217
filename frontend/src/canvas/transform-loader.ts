/**
 * The select tool, with its transform handles and snapping loaded on demand: the gesture,
 * handle and snapping code (transform-tool.ts and what it imports) is a chunk of its own,
 * fetched when the editor makes its first tool, so it stays out of the main bundle. Until it
 * arrives the select tool works without handles; it upgrades at its next use.
 */
import type { Box } from "../ops";
import type { Element } from "../protocol";
import type { Context2D } from "./draw";
import { SelectTool } from "./edit-tools";
import type { PointerSample, Tool, ToolHost } from "./tool";

type TransformModule = typeof import("./transform-tool");

let loaded: TransformModule | null = null;
let loading: Promise<void> | null = null;

/** Fetch the transform tool's chunk (once). */
export function loadTransform(): Promise<void> {
  loading ??= import("./transform-tool").then(
    (m) => {
      loaded = m;
    },
    (err: unknown) => {
      loading = null; // a network blip: the next tool change tries again
      console.warn("inkroom: transform tool not loaded", err);
    },
  );
  return loading;
}

/** SelectTool until the transform tool is loaded, then the transform tool around it. */
class LazySelectTool implements Tool {
  private impl: Tool;
  private upgraded = false;

  constructor(
    private readonly host: ToolHost,
    private readonly inner: SelectTool,
  ) {
    this.impl = inner;
  }

  /** Switch to the loaded tool between gestures (never in the middle of one). */
  private current(idle: boolean): Tool {
    if (!this.upgraded && loaded && idle) {
      this.impl = new loaded.TransformSelectTool(this.host, this.inner);
      this.upgraded = true;
    }
    return this.impl;
  }

  down(p: PointerSample): void {
    this.current(true).down(p);
  }
  move(samples: readonly PointerSample[]): void {
    this.impl.move(samples);
  }
  up(): void {
    this.impl.up();
  }
  cancel(): void {
    if (this.impl.cancel) this.impl.cancel();
    else this.impl.up();
  }
  tick(): void {
    this.impl.tick();
  }
  drafts(): Element[] {
    return this.impl.drafts();
  }
  marquee(): Box | null {
    return this.impl.marquee();
  }
  cursor(p: PointerSample): string | null {
    return this.impl.cursor ? this.impl.cursor(p) : null;
  }
  decorate(ctx: Context2D, zoom: number): Box | null {
    const tool = this.current(this.impl.drafts().length === 0 && this.impl.marquee() === null);
    return tool.decorate ? tool.decorate(ctx, zoom) : null;
  }
}

export function selectTool(host: ToolHost): Tool {
  const inner = new SelectTool(host);
  return loaded ? new loaded.TransformSelectTool(host, inner) : new LazySelectTool(host, inner);
}
