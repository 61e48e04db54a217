"""
What is on disk when a delivery is seen: observed, for the peers that store anything.

One author draws at 30 Hz on a fresh server while an observer receives its ops; the moment
the observer sees op `i`, the probe reads the peer's files (the same bytes a restart would load)
and notes whether op `i` is in them, and a poller notes when each op first is. Then the author
stops and the probe waits for the peer's own flush, so "later" has an upper bound:

* hocuspocus: the `documents` row of the SQLite extension (Y.encodeStateAsUpdate), parsed for
  the author's clocks;
* tldraw: the shape records in the room's SQLite file (SQLiteSyncStorage), their path length;
* tldraw-snap: the same records in the JSON snapshot the server writes every 2 s.

The Socket.IO relay and the reference servers store nothing; Inkroom commits each tick's ops to
PostgreSQL before it acks or broadcasts them (docs/performance.md, Servers), so both are stated,
not probed.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from bench.client import _STYLE, STROKE_APPS
from bench.peers import yjs
from bench.peers.clients import (
    TLDRAW_PROTOCOL,
    tldraw_path,
    tldraw_points_of,
    tldraw_schema,
    tldraw_shape_id,
)

RATE_HZ = 30.0
#: Ops the author draws: three strokes and a bit, ~7 s at 30 Hz.
OPS = 200
POINTS_PER_OP = 4
POLL_SECS = 0.02
#: How long to wait after the last op for the peer's own flush (Hocuspocus: maxDebounce 10 s).
SETTLE_SECS = 13.0
_DELTAS = [1, 0] * POINTS_PER_OP


@dataclass
class Observation:
    """
    Per op id: when the observer saw it, whether it was on disk then, and when it first was.
    """

    seen_at: dict[int, float] = field(default_factory=dict)
    on_disk_when_seen: dict[int, bool] = field(default_factory=dict)
    on_disk_at: dict[int, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        seen = sorted(self.seen_at)
        lags = sorted(
            max(0.0, self.on_disk_at[i] - self.seen_at[i]) for i in seen if i in self.on_disk_at
        )
        stored_when_seen = sum(1 for i in seen if self.on_disk_when_seen.get(i))
        return {
            "ops_seen": len(seen),
            "on_disk_when_seen_pct": round(100 * stored_when_seen / len(seen), 1) if seen else None,
            "on_disk_eventually": len(lags),
            "lag_p50_s": round(lags[len(lags) // 2], 2) if lags else None,
            "lag_max_s": round(lags[-1], 2) if lags else None,
        }


def _op_k(i: int) -> int:
    return (i - 1) % (STROKE_APPS + 1)


# --- what is on disk ---------------------------------------------------------------------------


def _sqlite_rows(path: Path, query: str) -> list[tuple[Any, ...]]:
    if not path.exists():
        return []
    # Read-only, and never waiting on the server's write lock for long.
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
    try:
        return db.execute(query).fetchall()
    except sqlite3.OperationalError:
        return []  # the server has not created its tables yet
    finally:
        db.close()


def stored_hocuspocus(data_dir: Path, author_slot: int) -> int:
    """
    The highest op id of the author in the stored document (0: none).
    """
    rows = _sqlite_rows(
        data_dir / "hocuspocus.sqlite", "SELECT data FROM documents WHERE name = 'r0'"
    )
    clocks = yjs.StrokeClock(STROKE_APPS, POINTS_PER_OP)
    best = 0
    for (data,) in rows:
        for client, start, end in yjs.client_ranges(bytes(data)):
            if yjs.slot_of(client) == author_slot:
                best = max([best, *(i for i, _ in clocks.ops_in(start, end))])
    return best


def _op_of_path(rid: str, length: int, tail: str) -> int:
    """
    The op id whose change left shape `rid`'s path `length` characters long (ending in `tail`).
    """
    points = tldraw_points_of(length, len(tail) - len(tail.rstrip("=")))
    return (int(rid[14:21]) - 1) * (STROKE_APPS + 1) + 1 + (points - 1) // POINTS_PER_OP


def _op_of_shape(record: dict[str, Any]) -> int:
    path = record["props"]["segments"][0]["path"]
    return _op_of_path(record["id"], len(path), path)


def stored_tldraw(data_dir: Path, _author_slot: int) -> int:
    rows = _sqlite_rows(data_dir / "r0.db", "SELECT state FROM documents WHERE id LIKE 'shape:%'")
    return max((_op_of_shape(json.loads(bytes(state))) for (state,) in rows), default=0)


def stored_tldraw_snapshot(data_dir: Path, _author_slot: int) -> int:
    try:
        snapshot = json.loads((data_dir / "r0.json").read_text())
    except (OSError, ValueError):
        return 0
    shapes = (d["state"] for d in snapshot.get("documents", ()))
    return max((_op_of_shape(s) for s in shapes if s["id"].startswith("shape:")), default=0)


# --- the two clients -------------------------------------------------------------------------


class HocuspocusPair:
    def __init__(self) -> None:
        self.clocks = yjs.StrokeClock(STROKE_APPS, POINTS_PER_OP)

    async def join(self, ws: ClientConnection) -> None:
        await ws.send(yjs.msg_auth("r0"))
        await ws.send(yjs.msg_sync_step1("r0"))

    async def keepalive(self, ws: ClientConnection) -> None:
        pass  # Hocuspocus closes a socket after 60 s of silence: longer than a probe

    def op(self, i: int) -> bytes:
        client, clock = yjs.client_of(0), self.clocks.clock_of(i)
        if _op_k(i) == 0:
            update = yjs.encode_add(client, clock, f"s0-{i}", 0, 0, _STYLE)
        else:
            update = yjs.encode_app(client, clock, _DELTAS)
        return yjs.msg_update("r0", update)

    def seen(self, msg: str | bytes) -> list[int]:
        if not isinstance(msg, bytes):
            return []
        r = yjs.Reader(msg)
        if r.string() != "r0" or r.uint() != yjs.MSG_SYNC or r.uint() != yjs.SYNC_UPDATE:
            return []
        update = r.bytes_()
        return [
            i
            for c, a, b in yjs.client_ranges(update)
            if yjs.slot_of(c) == 0
            for i, _ in self.clocks.ops_in(a, b)
        ]


class TldrawPair:
    def __init__(self) -> None:
        self.path = b""
        self.path_str = ""

    async def join(self, ws: ClientConnection) -> None:
        hello = {"type": "connect", "connectRequestId": "probe", "lastServerClock": -1,
                 "protocolVersion": TLDRAW_PROTOCOL, "schema": tldraw_schema()}  # fmt: skip
        await ws.send(json.dumps(hello))

    async def keepalive(self, ws: ClientConnection) -> None:
        # TLSocketRoom drops a session that sent nothing for 20 s; TLSyncClient pings every 5 s.
        while True:
            await asyncio.sleep(5)
            await ws.send('{"type":"ping"}')

    def op(self, i: int) -> str:
        k, stroke = _op_k(i), (i - 1) // (STROKE_APPS + 1) + 1
        sid = tldraw_shape_id(0, stroke)
        if k == 0:
            self.path = struct.pack("<ff", 0.0, 0.0)
            self.path_str = tldraw_path(self.path)
            record = {
                "id": sid, "typeName": "shape", "type": "draw", "x": 0, "y": 0, "rotation": 0,
                "index": "a1", "parentId": "page:page", "isLocked": False, "opacity": 1, "meta": {},
                "props": {"color": "black", "fill": "none", "dash": "draw", "size": "m",
                          "segments": [{"type": "free", "path": self.path_str, "dim": 2}],
                          "isComplete": False, "isClosed": False, "isPen": False, "scale": 1,
                          "scaleX": 1, "scaleY": 1},
            }  # fmt: skip
            op: list[Any] = ["put", record]
        else:
            self.path += struct.pack(f"<{len(_DELTAS)}e", *_DELTAS)
            old, self.path_str = self.path_str, tldraw_path(self.path)
            new = self.path_str
            value = ["append", new[len(old) :], len(old)] if new.startswith(old) else ["put", new]
            op = [
                "patch",
                {"props": ["patch", {"segments": ["patch", {"0": ["patch", {"path": value}]}]}]},
            ]
        return json.dumps({"type": "push", "clientClock": i - 1, "diff": {sid: op}})

    def seen(self, msg: str | bytes) -> list[int]:
        event = json.loads(msg)
        events = event["data"] if event.get("type") == "data" else [event]
        out = []
        for e in events:
            for rid, op in (e.get("diff") or {}).items():
                if not rid.startswith("shape:"):
                    continue
                if op[0] == "put":
                    out.append(_op_of_shape(op[1]))
                    continue
                value = op[1]["props"][1]["segments"][1]["0"][1]["path"]
                text = value[1]
                length = value[2] + len(text) if value[0] == "append" else len(text)
                out.append(_op_of_path(rid, length, text))
        return out


PROBES: dict[str, tuple[type[HocuspocusPair] | type[TldrawPair], Any, str]] = {
    "hocuspocus": (HocuspocusPair, stored_hocuspocus, "/"),
    "tldraw": (TldrawPair, stored_tldraw, "/connect/r0?sessionId={who}"),
    "tldraw-snap": (TldrawPair, stored_tldraw_snapshot, "/connect/r0?sessionId={who}"),
}


async def probe(name: str, port: int, data_dir: Path) -> dict[str, Any]:
    """
    Run the author and the observer against a started peer; return the summary.
    """
    pair_cls, stored, path = PROBES[name]
    pair = pair_cls()
    obs = Observation()
    url = f"ws://127.0.0.1:{port}" + path
    async with (
        connect(url.format(who="author"), compression=None) as author,
        connect(url.format(who="observer"), compression=None) as observer,
    ):
        await pair.join(author)
        await pair.join(observer)
        await asyncio.sleep(0.5)
        done = asyncio.Event()

        async def observe() -> None:
            async for msg in observer:
                now = time.monotonic()
                for i in pair.seen(msg):
                    if i not in obs.seen_at:
                        obs.seen_at[i] = now
                        obs.on_disk_when_seen[i] = stored(data_dir, 0) >= i

        async def poll() -> None:
            while not done.is_set():
                top, now = stored(data_dir, 0), time.monotonic()
                for i in range(1, top + 1):
                    obs.on_disk_at.setdefault(i, now)
                await asyncio.sleep(POLL_SECS)

        async def drain_author() -> None:
            async for _ in author:  # acks, pongs: read so the server never backs up
                pass

        tasks = [asyncio.create_task(t()) for t in (observe, poll, drain_author)]
        tasks += [asyncio.create_task(pair.keepalive(ws)) for ws in (author, observer)]
        for i in range(1, OPS + 1):
            await author.send(pair.op(i))
            await asyncio.sleep(1 / RATE_HZ)
        await asyncio.sleep(SETTLE_SECS)
        done.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return {"target": name, **obs.summary()}


def run_probe(name: str, port: int, data_dir: Path) -> dict[str, Any]:
    return asyncio.run(probe(name, port, data_dir))
