"""
The ceiling: a plain `websockets` relay with no Django, forwarding each frame to its room.

Same URL shape as Inkroom (`/ws/boards/<id>/`), no auth, no persistence, no ordering beyond
TCP's. `websockets.broadcast` writes to every socket without awaiting any of them.
Run: python -m bench.reference.relay --port 18410
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import uvloop
from websockets.asyncio.server import ServerConnection, broadcast, serve

_rooms: defaultdict[str, set[ServerConnection]] = defaultdict(set)


async def _handle(ws: ServerConnection) -> None:
    room_key = ws.request.path.split("?", 1)[0] if ws.request is not None else "/"
    room = _rooms[room_key]
    room.add(ws)
    try:
        async for message in ws:
            broadcast(room, message)
    finally:
        room.discard(ws)


async def _serve(host: str, port: int) -> None:
    # compression=None: the relay is the ceiling, not a deflate benchmark.
    async with serve(_handle, host, port, compression=None, max_size=2**20) as server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvloop.run(_serve(args.host, args.port))


if __name__ == "__main__":
    main()
