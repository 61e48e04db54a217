"""
CPU of the tick's sends, entries written at once vs lazily: `python -m bench.send_micro`.

What it isolates: a tick of scenario A's shape sends a `tent` frame to each of a board's
sockets, then, after the commit, the committed entries to each. Written at once that is two
transport writes (two send system calls) per socket per tick; lazily (realtime.engine.sender,
`push_lazy`) the entries wait for the socket's next frame, so a tick costs one write per socket.
Here real SendQueues write through their direct path (realtime.server.direct.DirectSocket) to
real TCP sockets on 127.0.0.1 (TCP_NODELAY, as Hypercorn's), read and discarded by a child
process (so the reading is not on this process's clock); the event loop is uvloop's, as the
server's. Each tick: one `tent` push to every socket, a loop turn (the commit's await), one
entries push to every socket (at once or lazily). CPU = this process's CPU time over the
ticks (process_time), per tick and per frame; both modes alternate `--rounds` times.

Prints a table and appends one JSON line (`"micro": "send"`) to bench/results/<date>.jsonl.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import selectors
import socket
import sys
import time
from pathlib import Path
from typing import Any

import uvloop

from bench import report
from realtime.engine.sender import SendQueue
from realtime.server.direct import DirectSocket

SOCKETS = 50
TICKS = 4000
#: A `tent` frame of one 4-point append and the `DOWN_OPS` entries confirming it, about.
TENT = b"\x81\xa1t\xa4tent" + b"x" * 50
ENTRIES = b"\x05" + b"y" * 12


def _drain(socks: list[socket.socket]) -> None:
    """
    Read every socket until all are closed (the child process).
    """
    sel = selectors.DefaultSelector()
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    open_ = len(socks)
    while open_:
        for key, _ in sel.select():
            sock: socket.socket = key.fileobj  # type: ignore[assignment]
            try:
                data = sock.recv(1 << 16)
            except BlockingIOError:
                continue
            if not data:
                sel.unregister(sock)
                sock.close()
                open_ -= 1


class _Stream:
    """
    What DirectSocket reads of Hypercorn's stream: open and connected.
    """

    closed = False

    def __init__(self) -> None:
        from hypercorn.protocol.ws_stream import ASGIWebsocketState

        self.state = ASGIWebsocketState.CONNECTED


class _Writer:
    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport

    async def drain(self) -> None:
        return None


class _Sink(asyncio.Protocol):
    pass


async def _send(message: dict[str, Any]) -> None:
    raise AssertionError("the direct path is always idle here")


async def _measure(
    pairs: list[tuple[socket.socket, socket.socket]], lazy: bool, ticks: int
) -> float:
    loop = asyncio.get_running_loop()
    queues = []
    for server, _ in pairs:
        transport, _ = await loop.connect_accepted_socket(_Sink, server)
        queue = SendQueue(_send, max_frames=1000, max_bytes=1 << 22)
        queue._direct = DirectSocket(_Stream(), _Writer(transport))  # type: ignore[arg-type]
        queues.append((queue, transport))
    await asyncio.sleep(0.05)
    started = time.process_time()
    for _ in range(ticks):
        for queue, _ in queues:
            queue.push(TENT)
        await asyncio.sleep(0)  # the commit's await
        for queue, _ in queues:
            if lazy:
                queue.push_lazy(ENTRIES)
            else:
                queue.push(ENTRIES)
        await asyncio.sleep(0)
    used = time.process_time() - started
    for queue, transport in queues:
        queue.cancel()
        transport.abort()
    return used


def _round(lazy: bool, sockets: int, ticks: int) -> float:
    pairs = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        for _ in range(sockets):
            b = socket.create_connection(listener.getsockname())
            a, _ = listener.accept()
            a.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pairs.append((a, b))
    reader = multiprocessing.get_context("fork").Process(
        target=_drain, args=([b for _, b in pairs],)
    )
    reader.start()
    for _, b in pairs:
        b.close()
    try:
        return uvloop.run(_measure(pairs, lazy, ticks))
    finally:
        for a, _ in pairs:
            a.close()
        reader.join(10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.send_micro", description=__doc__)
    parser.add_argument("--sockets", type=int, default=SOCKETS, help="sockets on the board (50)")
    parser.add_argument("--ticks", type=int, default=TICKS, help="ticks per round (4000)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--results-dir", type=Path, default=report.RESULTS_DIR)
    parser.add_argument("--no-save", action="store_true", help="print only")
    args = parser.parse_args(argv)
    rows = []
    for r in range(args.rounds):
        for lazy in (False, True):
            cpu = _round(lazy, args.sockets, args.ticks)
            frames = 2 * args.sockets * args.ticks
            row = {
                "round": r + 1,
                "entries": "lazy" if lazy else "at once",
                "us_per_tick": round(cpu / args.ticks * 1e6, 1),
                "us_per_frame": round(cpu / frames * 1e6, 2),
            }
            rows.append(row)
            print(
                f"round {r + 1}  entries {row['entries']:8}  "
                f"{row['us_per_tick']:8} us/tick  {row['us_per_frame']:6} us/frame"
            )
    if not args.no_save:
        line = {"micro": "send", "sockets": args.sockets, "ticks": args.ticks, "rows": rows}
        print(f"appended to {report.append(line, args.results_dir)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
