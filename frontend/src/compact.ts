/**
 * The compact frames of protocol v2 (docs/protocol.md §2.5): stroke adds and appends at about
 * one byte per point. Pure codec, no I/O; byte for byte the same as the reference
 * realtime/wire/compact.py (tests/fixtures/protocol/v2/compact_vectors.json holds vectors made by it).
 *
 * A v1 `app` op is mostly envelope (map keys, element id, author id, seq), and a stroke `add`
 * about 90 bytes. v2 sends both as varints plus packed points and names authors, elements and
 * styles (by their JSON text) with per-connection handles. Points
 * are the v1 flat deltas [dx0, dy0, dx1, dy1, ...]; each is coded as its residual from the
 * previous delta (constant-velocity prediction), so a smooth stroke's pair fits one byte.
 *
 * Numbers are JS numbers: values beyond 2^53 (never legal on this wire) are refused rather than
 * silently rounded, where Python would accept them.
 */
export * from "./compact-bytes";
export * from "./compact-down";
export * from "./compact-up";
