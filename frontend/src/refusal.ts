/**
 * How the server's final refusal of an op is put to the user: its reason, and when it came.
 */
import type { ErrorMessage } from "./protocol";

/** A `board_full` refusal, kept for the board UI's notice (ui/board-ui.ts). */
export interface BoardFullRefusal {
  /** The server's message without its leading `field: ` (it says which bound was reached). */
  reason: string;
  /** When it arrived (Date.now()). */
  at: number;
}

/** An error's message without the `field: ` the server puts first (e.g. `op.p: `). */
export function refusalReason(msg: Pick<ErrorMessage, "message" | "field">): string {
  const prefix = msg.field ? `${msg.field}: ` : "";
  return prefix && msg.message.startsWith(prefix) ? msg.message.slice(prefix.length) : msg.message;
}
