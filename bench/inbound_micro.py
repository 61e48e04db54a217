"""
Micro-benchmark of the hub's inbound path: what one binary frame costs on the event loop.

`python -m bench.inbound_micro` builds a hub, a loaded room and a v2 editor socket in this
process, then times `realtime.engine.inbound.on_binary` on the frames scenario C's drawers send: an
UP_ADD per stroke, then UP_NEXT frames of 4 points (the bulk), and for comparison the same
appends as UP_APP frames and as v1 msgpack `ops` frames. Nothing is sent or stored: the queued
ops are dropped after every batch, as a tick would take them. It prints µs per frame (best of
--repeat rounds, to keep a noisy box's stalls out). To compare two versions of the code, run it
from both trees alternately on the same box.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import os
import time
from collections.abc import Callable
from typing import Any

import msgpack

from bench import setup

STROKE_POINTS = 4
FRAMES_PER_STROKE = 30


def _stroke_frames(kind: str, n_strokes: int) -> list[bytes]:
    from tests.support.refclient import encode_up_add, encode_up_app, encode_up_next

    style = {"color": "#1e1e1e", "width": 3, "opacity": 1, "fill": None}
    deltas = [3, -2, 4, 1, -1, 5, 2, 2][: 2 * STROKE_POINTS]
    frames: list[bytes] = []
    i = 0
    for s in range(n_strokes):
        i += 1
        el = f"k{s}"
        if kind == "v1":
            add = {"i": i, "k": "add", "el": {"id": el, "type": "stroke", "x": 10, "y": 20,
                                              "style": style, "p": deltas}}  # fmt: skip
            frames.append(msgpack.packb({"t": "ops", "ops": [add]}))
        else:
            frames.append(encode_up_add(i, el, 10, 20, style if s == 0 else None, deltas))
        for _ in range(FRAMES_PER_STROKE):
            i += 1
            if kind == "next":
                frames.append(encode_up_next(deltas))
            elif kind == "app":
                frames.append(encode_up_app(i, deltas))
            else:
                app = {"i": i, "k": "app", "id": el, "p": deltas}
                frames.append(msgpack.packb({"t": "ops", "ops": [app]}))
    return frames


def _socket(hub: Any, version: int) -> tuple[Any, Any]:
    from board.document import BoardState
    from realtime.engine.ratelimit import RateLimiter
    from realtime.engine.room import Room

    room = Room("micro-board")
    room.load(BoardState(), 0, time.monotonic())
    hub.rooms[room.board_id] = room
    info = {"board": {"id": room.board_id}, "client_id": "micro-client", "user_id": None,
            "user_name": "micro", "role": "editor", "share": None, "version": version}  # fmt: skip
    peer = hub.joins.new_peer(info, lambda *a: None, room)
    peer.limiter = RateLimiter.create(ops_per_sec=1e12, ops_burst=1e12,
                                      bytes_per_sec=1e15, bytes_burst=1e15)  # fmt: skip
    peer.catching_up = False
    room.peers[peer.id] = peer
    return room, peer


def _time_frames(on_frame: Callable[[bytes], None], room: Any, frames: list[bytes]) -> float:
    """Seconds for one pass over `frames`, dropping the queued ops every stroke."""
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter()
        for n, frame in enumerate(frames):
            on_frame(frame)
            if n % FRAMES_PER_STROKE == 0:
                room.pending.clear()
        elapsed = time.perf_counter() - t0
    finally:
        gc.enable()
    room.pending.clear()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strokes", type=int, default=2000, help="strokes per round (2000)")
    parser.add_argument("--repeat", type=int, default=7, help="rounds; the best is kept (7)")
    args = parser.parse_args()
    setup.django_init(setup.server_env(redis=False))
    asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> None:
    """The rounds, on a running loop (a socket's send queue starts its writer task)."""
    from realtime.engine.hub import Hub
    from realtime.engine.inbound import on_binary

    hub = Hub()
    print(
        f"inbound_micro: {os.getcwd()}, {args.strokes} strokes of 1 add + "
        f"{FRAMES_PER_STROKE} appends x {STROKE_POINTS} points, best of {args.repeat}"
    )
    for kind, version in (("next", 2), ("app", 2), ("v1", 1)):
        room, peer = _socket(hub, version)
        frames = _stroke_frames(kind, args.strokes)
        on_frame = functools.partial(on_binary, hub, peer)
        best = min(_time_frames(on_frame, room, frames) for _ in range(args.repeat))
        # Anything in the send queue is an error frame: the rounds must time accepted ops.
        assert not peer.send_queue.load, f"{kind} frames were answered with errors"
        print(f"  {kind:>4} frames: {best / len(frames) * 1e6:6.2f} µs/frame")
        del hub.rooms[room.board_id]


if __name__ == "__main__":
    main()
