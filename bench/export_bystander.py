"""
A bystander's WebSocket ping while exports run: before (rendered in the server process) and
after (rendered in the export worker pool). Issue 15 finding 1.

`python -m bench.export_bystander` seeds two boards in the bench database (BENCH_DATABASE_URL):
the issue's heavy text (8 elements of 10,000 characters at size 512, ~2.5 s of rasterising) and
50,000 small strokes behind a snapshot (the decode alone is ~100+ ms of GIL). For each export mode
it starts one server (`python -m realtime.server.serve`), connects a bystander socket to a third
board, and pings it back to back (one ping in flight, `--gap` ms apart) while `--exporters` threads
download PNGs of distinct seqs (so the cache never answers). It prints the bystander's RTT
p50/p99/max during the exports, and idle for reference.

Modes: `inline` is INKROOM_EXPORT_WORKERS=0, which renders in the request thread as every
export did before the pool; `pool` is the default pool (INKROOM_EXPORT_WORKERS, default 1), and
`pool2` two workers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from bench import servers, setup

TEXT_ELEMENTS, TEXT_CHARS, TEXT_SIZE = 8, 10_000, 512
STROKE_ELEMENTS = 50_000
STYLE = {"color": "#1e1e1e", "width": 2, "opacity": 1, "fill": None}
MODES = {
    "inline": {"INKROOM_EXPORT_WORKERS": "0"},
    "pool": {},
    "pool2": {"INKROOM_EXPORT_WORKERS": "2"},
}


@dataclass
class Board:
    name: str
    board_id: str
    #: Seqs whose state is the whole heavy content (each a distinct cache key).
    seqs: list[int] = field(default_factory=list)


def _seed(exports: int) -> tuple[list[Board], str, str]:
    """
    Create the two heavy boards and the bystander's; return them and an API token.
    """
    from rest_framework.authtoken.models import Token

    from board.oplog import append_ops

    user = setup.bench_user()
    token, _ = Token.objects.get_or_create(user=user)
    text_id, strokes_id, other_id = setup.create_boards(3, "bench-export-bystander")
    words = " ".join(f"word{k % 97}" for k in range(TEXT_CHARS // 6))[:TEXT_CHARS]
    texts = [
        {"id": f"t{n}", "type": "text", "x": 0, "y": n * TEXT_SIZE * 2, "size": TEXT_SIZE,
         "text": words, "style": STYLE}
        for n in range(TEXT_ELEMENTS)
    ]  # fmt: skip
    ops = [{"i": n + 1, "k": "add", "el": el} for n, el in enumerate(texts)]
    append_ops(board_id=text_id, author_id=user.pk, client_id="benchseed", ops=ops)
    setup.seed_elements(strokes_id, STROKE_ELEMENTS)  # ends with a snapshot at its head
    boards = []
    for name, board_id, moved in (("text 8x10k", text_id, "t0"), ("50k strokes", strokes_id, "e0")):
        # Moves by 0: each seq after them is the same drawing under another cache key.
        nudges = [
            {"i": 10**6 + n, "k": "mov", "ids": [moved], "dx": 0, "dy": 0} for n in range(exports)
        ]
        last = append_ops(
            board_id=board_id, author_id=user.pk, client_id="benchnudge", ops=nudges
        ).last_seq
        boards.append(Board(name, board_id, list(range(last - exports + 1, last + 1))))
    return boards, other_id, token.key


def _get(url: str, token: str) -> tuple[int, float]:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
            return response.status, time.monotonic() - started
    except urllib.error.HTTPError as error:
        return error.code, time.monotonic() - started


async def _ping(ws: ClientConnection, n: int) -> float:
    started = time.monotonic()
    await ws.send(json.dumps({"type": "ping", "t": n}))
    while True:
        frame = await ws.recv()
        if isinstance(frame, str):
            message = json.loads(frame)
            if message.get("type") == "pong" and message.get("t") == n:
                return time.monotonic() - started


async def _bystander(
    ws_url: str, token: str, work: list[tuple[str, str]], exporters: int, gap: float
) -> dict[str, Any]:
    headers = {"Authorization": f"Token {token}"}
    async with connect(ws_url, additional_headers=headers, proxy=None, compression=None) as ws:
        while True:
            frame = await ws.recv()
            if isinstance(frame, str) and json.loads(frame).get("type") == "synced":
                break
        idle: list[float] = []
        for n in range(100):
            idle.append(await _ping(ws, n))
            await asyncio.sleep(gap)
        results: list[tuple[int, float]] = []
        lock = threading.Lock()

        def exporter(k: int) -> None:
            for url in work[k::exporters]:
                outcome = _get(url, token)
                with lock:
                    results.append(outcome)

        threads = [threading.Thread(target=exporter, args=(k,)) for k in range(exporters)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        busy: list[float] = []
        n = 1000
        while any(thread.is_alive() for thread in threads):
            busy.append(await _ping(ws, n))
            n += 1
            await asyncio.sleep(gap)
        wall = time.monotonic() - started
    return {"idle": idle, "busy": busy, "exports": results, "wall": wall}


def _quantiles(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"{statistics.median(ms):6.1f} {p99:7.1f} {ms[-1]:7.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.export_bystander", description=__doc__)
    parser.add_argument("--port", type=int, default=18745)
    parser.add_argument("--exporters", type=int, default=2, help="concurrent export downloads")
    parser.add_argument("--exports", type=int, default=4, help="PNG exports per board and mode")
    parser.add_argument("--gap", type=float, default=10.0, help="ms between pings")
    parser.add_argument("--modes", default="inline,pool")
    args = parser.parse_args(argv)
    env = setup.server_env(redis=False)
    # The bench downloads more exports than a caller may; the cache is defeated by distinct seqs.
    env["INKROOM_EXPORT_RATE"] = ""
    setup.django_init(env)
    boards, other, token = _seed(args.exports)
    print(
        f"{'mode':7} {'board':12} {'exports':>7} {'export s':>8} {'wall s':>6} "
        f"{'pings':>5} | {'p50':>6} {'p99':>7} {'max':>7} ms  (idle p50 p99 max)"
    )
    for mode in args.modes.split(","):
        server = servers.inkroom(args.port, {**env, **MODES[mode]}).start()
        try:
            for board in boards:
                base = f"http://127.0.0.1:{args.port}/api/v1/boards/{board.board_id}/export/png/"
                work = [f"{base}?seq={seq}" for seq in board.seqs]
                _get(f"http://127.0.0.1:{args.port}/api/v1/boards/{other}/state/", token)
                figures = asyncio.run(
                    _bystander(
                        f"ws://127.0.0.1:{args.port}/ws/boards/{other}/",
                        token,
                        work,
                        args.exporters,
                        args.gap / 1000,
                    )
                )
                statuses = sorted({status for status, _ in figures["exports"]})
                secs = statistics.mean(s for _, s in figures["exports"])
                print(
                    f"{mode:7} {board.name:12} {len(figures['exports']):>3} {statuses!s:>3} "
                    f"{secs:8.2f} {figures['wall']:6.1f} {len(figures['busy']):5} | "
                    f"{_quantiles(figures['busy'])}     ({_quantiles(figures['idle'])})",
                    flush=True,
                )
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
