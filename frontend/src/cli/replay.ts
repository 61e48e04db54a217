/**
 * Replays op sequences with the client's applyOp, for the cross-language reducer parity test
 * (tests/frontend/test_reducer_parity.py). Reads a JSON array of op arrays on stdin and writes
 * the resulting element lists (z-order) as JSON on stdout.
 */
import { readFileSync } from "node:fs";
import { applyOp, emptyState } from "../ops";
import type { Op } from "../protocol";

const cases = JSON.parse(readFileSync(0, "utf8")) as Op[][];
const results = cases.map((ops) => {
  const state = emptyState();
  for (const op of ops) applyOp(state, op);
  return [...state.elements.values()];
});
process.stdout.write(JSON.stringify(results));
