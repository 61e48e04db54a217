/**
 * Which log entries acknowledge this client's ops (protocol §2.2, **Acknowledgement**).
 *
 * A client id is no secret (entries carry it, presence shows it), so while a writer is away
 * anyone on the board may store other ops under its id and the `i`s it will use next (§1). Such
 * an entry must not count as the writer's op, or the writer would drop that op from its outbox
 * and it would never be stored. The server stamps every entry with its author's account (`u`),
 * which settles it for a signed-in writer; a guest has none (`u` null), and compact entries do
 * not say (§2.5): for those only an op sent on this very connection counts. Any other entry
 * under our id leaves our op of that `i` in the outbox: its resend is acked as a duplicate if
 * the log holds exactly it, or refused `client_id_taken` if not.
 *
 * "Sent on this connection" is a guess in one case: another guest of the same link, on another
 * server process, storing under our live id in the moment before the processes hear of each
 * other's socket (§1). The server then answers our op `client_id_taken` on this connection, after
 * the entry: so the ops a guess acknowledged are kept until the connection ends, and taken back.
 */
import type { LogEntry, Op } from "./protocol";

export interface Writer {
  clientId: string;
  /** The account we write as (`hello.user.id`); null for a guest or before `hello`. */
  userId: number | null;
  /** Whether op `i` was sent on the current connection. */
  sentHere(i: number): boolean;
}

/** Whether `entry` is our op: "account" (stamped with our account), "sent" (the guess), or no. */
export function ownAck(entry: LogEntry, me: Writer): "account" | "sent" | null {
  if (entry.c !== me.clientId) return null;
  if (me.userId !== null && entry.u === me.userId) return "account";
  return me.sentHere(entry.i) && (entry.u === undefined || entry.u === me.userId) ? "sent" : null;
}

/** Most ops a connection keeps after guessing they are acked (a guest draws ~30 a second). */
export const MAX_GUESSED = 10_000;

/** A connection's acknowledgements by entry, and the ops it acknowledged by guess. */
export class OwnEntries {
  private readonly guessed = new Map<number, Op>();

  constructor(private readonly me: () => Writer) {}

  /** Whether `entry` acknowledges our op `entry.i`; `op` (ours, from the outbox) is kept if a guess. */
  ack(entry: LogEntry, op?: Op): boolean {
    const how = ownAck(entry, this.me());
    if (how === "sent" && op) {
      if (this.guessed.size >= MAX_GUESSED) this.guessed.delete(this.guessed.keys().next().value!);
      this.guessed.set(op.i, op);
    }
    return how !== null;
  }

  /** Ops among `ids` acknowledged by a guess: the server says it stored other ops there. */
  takeBack(ids: readonly number[]): Op[] {
    return ids.flatMap((i) => this.guessed.get(i) ?? []);
  }

  /** A new connection: nothing it receives can take back what earlier ones acknowledged. */
  clear(): void {
    this.guessed.clear();
  }
}
