"""
Bytes per stroke point on the wire, protocol v1 vs v2, up and down: `python -m bench.wire_micro`.

Pure computation, no server: the frames are built with the real codecs (msgpack for v1,
realtime.wire.compact for v2) from the ops the load generator would send, and measured with their
WebSocket headers (client to server: 2-byte header plus 4-byte mask below 126 bytes of payload,
8 up to 64 KiB; server to client unmasked: 2, 4 or 10 bytes).

Model (the issue's scenario A shape): AUTHORS clients draw at 30 ops/s each, at random phases; a
stroke is one `add` (`p: [0, 0]`) then 60 `app` ops of pointer_hz/30 points (2/4/8 at 60/120/240
Hz), points from bench.strokes (or uniform ±7 deltas for contrast), strokes back to back. The
bench's 60-op strokes last 2 s; handwriting strokes last ~0.2-0.5 s and sketch strokes 0.5-2 s,
so rows with 10- and 20-op strokes (0.33 and 0.67 s at 120 Hz) show what the per-stroke `add`
costs. Up: every op is its own frame (the browser sends one frame per 33 ms): v1 `ops` frames;
v2 UP_ADD for the `add` (the author's first names its style, later ones send "") and UP_NEXT for
the appends (each op follows its author's previous one; UP_APP with pressure). Down: the server
sends one frame per 20 ms tick with that tick's entries from all authors, to a receiver
connected from the start, encoded by the server's own code: v1 frames as
realtime.wire.frames.ops_frame_from_entries joins the entries, v2 DOWN_OPS frames by
realtime.wire.handles.encode_delivery (room-wide table of recycled one-byte handles; adds as tag-2
entries, appends as tag 1; each name, the style's JSON text included, defined inline by the
first frame that uses it: `defs` is that share of v2's down bytes). `B/pt` = wire bytes / stroke
points (an `add` is one point), the load generator's definition, so a v1 row reproduces scenario
A's figures; `add` = mean wire bytes of an `add` frame up, each author's first left out (v2's
names the style once per connection; it is in B/pt). Ids are the bench's (`bench000123`,
`s12-3`, user 1, seqs from 1) unless the case says browser ids: 16-char client ids, 12-char
element ids, user ids >= 1000, seqs from 100,000.

Prints a table and appends one JSON line (`"micro": "wire"`) to bench/results/<date>.jsonl.
"""

from __future__ import annotations

import argparse
import random
import string
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import msgpack

from bench import report
from bench.client import STROKE_APPS, client_id_for
from bench.strokes import PenModel, Stroke, UniformStroke
from realtime.conf import DEFAULTS as REALTIME_DEFAULTS
from realtime.wire.compact import ESCAPE
from realtime.wire.frames import ops_frame_from_entries
from realtime.wire.handles import HandleTable, encode_delivery, ops_head
from tests.support.refclient import encode_up_add, encode_up_app, encode_up_next, pack_points

AUTHORS = 10
OP_HZ = 30.0
#: The server's default tick: ops are grouped into frames per tick, as the hub does.
TICK_MS = REALTIME_DEFAULTS.tick_ms
SECONDS = 20.0
_STYLE = {"color": "#1e1e1e", "width": 4, "opacity": 1, "fill": None}


class PointSource(Protocol):
    first_pressure: int

    def take(self, n: int) -> tuple[list[int], list[int] | None]: ...


@dataclass(frozen=True, slots=True)
class Case:
    """
    One row of the table: where the points come from and how many an op carries.
    """

    name: str
    points_per_op: int
    source: Callable[[int], PointSource]
    browser_ids: bool = False
    #: `app` ops per stroke (after its `add`).
    stroke_apps: int = STROKE_APPS


def up_header(n: int) -> int:
    """
    WebSocket header bytes of a masked client frame with an n-byte payload.
    """
    return 6 if n < 126 else 8 if n < 65536 else 14


def down_header(n: int) -> int:
    """
    WebSocket header bytes of an unmasked server frame with an n-byte payload.
    """
    return 2 if n < 126 else 4 if n < 65536 else 10


@dataclass(slots=True)
class Op:
    """
    One stroke op as sent: when, by whom, and its v1 map.
    """

    t_us: int
    author: int
    client_id: str
    user_id: int
    op: dict[str, Any]


def _random_id(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))


def draw(case: Case, authors: int, seconds: float, seed: int = 1) -> list[Op]:
    """
    Every op the authors send in `seconds`, in send order.
    """
    rng = random.Random(seed)
    period_us = round(1e6 / OP_HZ)
    out: list[Op] = []
    for a in range(authors):
        client_id = _random_id(rng, 16) if case.browser_ids else client_id_for(a)
        user_id = 1000 + a if case.browser_ids else 1
        t = rng.randrange(period_us)
        i = 0
        stroke_n = 0
        while t < seconds * 1e6:
            stroke_n += 1
            element = _random_id(rng, 12) if case.browser_ids else f"s{a}-{stroke_n}"
            source = case.source(a * 7919 + stroke_n)
            for k in range(case.stroke_apps + 1):
                i += 1
                if k == 0:
                    el: dict[str, Any] = {"id": element, "type": "stroke",
                                          "x": rng.randint(-5000, 5000),
                                          "y": rng.randint(-5000, 5000),
                                          "style": _STYLE, "p": [0, 0]}  # fmt: skip
                    if _has_pressure(source):
                        el["pr"] = [source.first_pressure]
                    op: dict[str, Any] = {"i": i, "k": "add", "el": el}
                else:
                    p, pr = source.take(case.points_per_op)
                    op = {"i": i, "k": "app", "id": element, "p": p}
                    if pr is not None:
                        op["pr"] = pr
                out.append(Op(t, a, client_id, user_id, op))
                t += period_us
                if t >= seconds * 1e6:
                    break
    out.sort(key=lambda o: o.t_us)
    return out


def _has_pressure(source: PointSource) -> bool:
    if isinstance(source, Stroke):
        return source.model.pressure
    return bool(getattr(source, "with_pressure", False))


def points_of(op: dict[str, Any]) -> int:
    return len(op["p"]) // 2 if op["k"] == "app" else 1


def up_frame(op: dict[str, Any], protocol: int, same_style: bool) -> bytes:
    """
    The frame a client sends for one op: v1 `ops`; v2 UP_ADD / UP_NEXT (UP_APP with pressure)
    (`same_style`: send "" for the style, the connection's previous UP_ADD had this one). An
    author's ops are numbered consecutively, so an append always follows its author's last op.
    """
    if protocol == 1:
        frame: bytes = msgpack.packb({"t": "ops", "ops": [op]})
        return frame
    if op["k"] == "app":
        if "pr" not in op:
            return encode_up_next(op["p"])
        return encode_up_app(op["i"], op["p"], op["pr"])
    el = op["el"]
    style = None if same_style else el["style"]
    return encode_up_add(op["i"], el["id"], el["x"], el["y"], style, el["p"], el.get("pr"))


def up_bytes(ops: list[Op], protocol: int) -> tuple[int, float]:
    """
    Return (wire bytes of every op frame sent (one op per frame), mean wire bytes of an `add`
    frame but each author's first: the steady per-stroke cost; v2's first also names the style).
    """
    total = adds = add_bytes = 0
    styled: set[int] = set()
    for o in ops:
        op = o.op
        again = o.author in styled
        payload = up_frame(op, protocol, again)
        wire = len(payload) + up_header(len(payload))
        total += wire
        if op["k"] == "add":
            styled.add(o.author)
            if again:
                adds += 1
                add_bytes += wire
    return total, add_bytes / adds if adds else 0.0


def ticks(ops: list[Op], first_seq: int) -> list[tuple[int, list[tuple[Op, dict[str, Any]]]]]:
    """
    Group ops into the server's ticks (TICK_MS): (first seq, [(op, v1 entry)]) per non-empty tick.
    """
    out: list[tuple[int, list[tuple[Op, dict[str, Any]]]]] = []
    seq = first_seq
    current = -1
    for o in ops:
        tick = o.t_us // (TICK_MS * 1000)
        if tick != current:
            out.append((seq, []))
            current = tick
        out[-1][1].append((o, {**o.op, "s": seq, "c": o.client_id, "u": o.user_id}))
        seq += 1
    return out


def down_bytes(ops: list[Op], protocol: int, first_seq: int) -> tuple[int, int, int]:
    """
    Return (wire bytes, of which handle definitions, frames) one receiver gets for these ops.
    """
    total = defs = frames = 0
    table = HandleTable()
    for seq, entries in ticks(ops, first_seq):
        packed = [msgpack.packb(e) for _, e in entries]
        if protocol == 1:
            payload = ops_frame_from_entries(packed)
        else:
            # The server's own encoder: a room-wide table of recycled one-byte handles, the
            # names a frame introduces defined inline (a receiver there from the start never
            # needs a DEFS frame).
            names: list[tuple[int, str, bool]] = []
            payload = encode_delivery(table, seq, packed, names=names)
            inline = [(h, name) for h, name, new in names if new]
            defs += len(ops_head(seq, inline, 0)) - len(ops_head(seq, [], 0))
        total += len(payload) + down_header(len(payload))
        frames += 1
    return total, defs, frames


def one_byte_share(ops: list[Op]) -> float:
    """
    Share of `app` points whose v2 point code is one byte (residual within ±7 both ways).
    """
    ones = total = 0
    for o in ops:
        op = o.op
        if op["k"] != "app":
            continue
        block = pack_points(op["p"])
        n = len(op["p"]) // 2
        total += n
        ones += n - block.count(ESCAPE)
    return ones / total if total else 0.0


def measure(case: Case, authors: int, seconds: float) -> dict[str, Any]:
    ops = draw(case, authors, seconds)
    points = sum(points_of(o.op) for o in ops)
    first_seq = 100_000 if case.browser_ids else 1
    row: dict[str, Any] = {
        "case": case.name,
        "points_per_op": case.points_per_op,
        "stroke_apps": case.stroke_apps,
    }
    for protocol in (1, 2):
        down, defs, frames = down_bytes(ops, protocol, first_seq)
        up, add_up = up_bytes(ops, protocol)
        row[f"v{protocol}_up"] = round(up / points, 2)
        row[f"v{protocol}_add_up"] = round(add_up, 1)
        row[f"v{protocol}_down"] = round(down / points, 2)
        if protocol == 2:
            row["v2_down_defs"] = round(defs / points, 2)
        row["down_frames"] = frames
    row["v2_vs_v1_up"] = round(row["v2_up"] / row["v1_up"], 2)
    row["v2_vs_v1_down"] = round(row["v2_down"] / row["v1_down"], 2)
    row["one_byte_points_pct"] = round(100 * one_byte_share(ops), 1)
    row["ops"] = len(ops)
    row["points"] = points
    return row


def cases() -> list[Case]:
    out = []
    for hz in (60, 120, 240):
        for pressure in (False, True):
            model = PenModel(rate_hz=hz, pressure=pressure)
            name = f"freehand {hz} Hz" + (" +pressure" if pressure else "")
            out.append(Case(name, round(hz / OP_HZ), _freehand(model)))
    out.append(Case("uniform ±7", 4, UniformStroke))
    out.append(Case("freehand 120 Hz, browser ids", 4, _freehand(PenModel()), True))
    # Shorter strokes: handwriting (~0.33 s) and a quick sketch line (~0.67 s).
    for apps in (10, 20):
        out.append(Case(f"freehand 120 Hz, {apps}-op strokes", 4, _freehand(PenModel()),
                        stroke_apps=apps))  # fmt: skip
    out.append(Case("freehand 120 Hz, browser ids, 10-op strokes", 4, _freehand(PenModel()),
                    True, 10))  # fmt: skip
    return out


def _freehand(model: PenModel) -> Callable[[int], PointSource]:
    return lambda seed: Stroke(seed, model)


_COLUMNS = (
    ("case", 43, "case"), ("pts/op", 6, "points_per_op"), ("ops/st", 6, "stroke_apps"),
    ("v1 up", 6, "v1_up"), ("v2 up", 6, "v2_up"), ("x", 5, "v2_vs_v1_up"),
    ("add1", 5, "v1_add_up"), ("add2", 5, "v2_add_up"), ("v1 dn", 6, "v1_down"),
    ("v2 dn", 6, "v2_down"), ("defs", 5, "v2_down_defs"), ("x", 5, "v2_vs_v1_down"),
    ("1B pts%", 7, "one_byte_points_pct"),
)  # fmt: skip


def table(rows: list[dict[str, Any]]) -> str:
    head = " ".join(f"{name:>{w}}" if k else f"{name:<{w}}" for k, (name, w, _) in
                    enumerate(_COLUMNS))  # fmt: skip
    lines = [head]
    for row in rows:
        cells = [
            f"{row[key]!s:>{w}}" if k else f"{row[key]!s:<{w}}"
            for k, (_, w, key) in enumerate(_COLUMNS)
        ]
        lines.append(" ".join(cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.wire_micro", description=__doc__)
    parser.add_argument("--authors", type=int, default=AUTHORS, help="drawing clients (10)")
    parser.add_argument("--seconds", type=float, default=SECONDS, help="drawing time (20)")
    parser.add_argument("--results-dir", type=Path, default=report.RESULTS_DIR)
    parser.add_argument("--no-save", action="store_true", help="print only")
    args = parser.parse_args(argv)
    rows = [measure(case, args.authors, args.seconds) for case in cases()]
    print(f"bytes per stroke point incl. WebSocket headers; {args.authors} authors at "
          f"{OP_HZ:g} ops/s, {TICK_MS} ms ticks, {args.seconds:g} s")  # fmt: skip
    print(table(rows))
    if not args.no_save:
        line = {"micro": "wire", "authors": args.authors, "op_hz": OP_HZ, "tick_ms": TICK_MS,
                "seconds": args.seconds, "rows": rows}  # fmt: skip
        path = report.append(line, args.results_dir)
        print(f"appended to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
