"""
Our changes to Hypercorn 0.18 (pinned in pyproject.toml: re-check them on upgrade;
tests/realtime/test_serve.py and test_hostile_input.py cover each): permessage-deflate refused,
ping tasks that end on close and send their first ping one interval after accept, a close frame
with wsproto's code for a frame it cannot parse, and a stream class realtime.server.direct
recognises to write frames past the ASGI send.

A module of its own, not part of realtime.server.serve: `python -m realtime.server.serve` runs that
module as `__main__`, and a class defined there would not be the one `realtime.server.direct`
imports.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from hypercorn.protocol import ws_stream
from hypercorn.protocol.events import Data, StreamClosed
from wsproto.connection import ConnectionState
from wsproto.events import CloseConnection, Message, Ping
from wsproto.frame_protocol import CloseReason

from realtime.server.wsframes import parse_binary_frames

#: Largest frame the shortcut parses; bigger ones (catch-up-sized pastes) go through wsproto,
#: which also enforces Hypercorn's websocket_max_message_size.
_FAST_FRAME_LIMIT = 65535


def _wsproto_idle(connection: Any) -> bool:
    """
    True when wsproto is open and holds no partial frame or unfinished fragmented message.

    Reads wsproto 1.x internals; if they are not there, False keeps every read on wsproto.
    """
    try:
        proto = connection._proto
        decoder = proto._frame_decoder
        return bool(
            connection.state is ConnectionState.OPEN
            and decoder.header is None
            and not decoder.buffer.buffer
            and proto._message_decoder.opcode is None
        )
    except AttributeError:
        return False


class _NoExtensionsHandshake(ws_stream.Handshake):
    """
    Hypercorn's handshake with every offered extension ignored, so permessage-deflate is refused.
    """

    def __init__(self, headers: list[tuple[bytes, bytes]], http_version: str) -> None:
        super().__init__(headers, http_version)
        self.extensions = None


def refuse_permessage_deflate() -> None:
    """
    Make Hypercorn answer every WebSocket handshake without permessage-deflate.

    Hypercorn 0.18 accepts deflate whenever the client offers it (browsers always do) and has no
    option to turn it off. A deflate socket keeps a zlib compressor and decompressor alive for its
    lifetime, several times the memory budget of an idle socket on their own, and costs CPU per
    frame on a hot path whose msgpack frames are already compact. Stripping the header in an ASGI
    wrapper would not help: Hypercorn parses it into its Handshake object before the app runs. So we
    replace that class in ws_stream with one that forgets the offer; wsproto then negotiates no
    extension and rejects compressed (RSV1) frames. Idempotent.
    """
    ws_stream.Handshake = _NoExtensionsHandshake  # type: ignore[misc]


class InkroomWSStream(ws_stream.WSStream):
    """
    Hypercorn's WebSocket stream, with the keep-alive ping task ending when the connection closes,
    and the two shortcuts of realtime.server.direct: our frames are written straight to its
    transport, and complete messages can be handed to a `receiver` callback in the reading task.

    The receiver replaces, per message, Hypercorn's queue between the reading task and the app's
    `receive()` (a put, a get and a task switch per message: a large share of a process reading many
    small frames). It is used only while that queue is empty, so a message never overtakes one
    queued before the receiver was set; disconnects always go through the queue, after every
    message. While a receiver is set, a chunk read from the socket that is nothing but complete
    binary frames is parsed by realtime.server.wsframes (cheaper than wsproto's per-frame objects)
    in `take_fast_path`; anything else — pings, close, text, fragments, a frame split across reads —
    goes to wsproto, and the shortcut waits until wsproto holds no partial frame or message, so
    nothing is reordered. realtime.server.direct also calls `take_fast_path` straight from the
    transport's data callback when Hypercorn's reading task is idle (see there).

    Hypercorn's ping loop checks `closed` only after each full `websocket_ping_interval` sleep,
    so a closed socket's connection task (and its memory) would linger for up to 20 s, and at
    shutdown Hypercorn would cancel one such task per socket closed in the last 20 s.

    A frame wsproto cannot parse (a text frame that is not UTF-8: 1007; a protocol violation such
    as an unmasked or reserved-bit frame: 1002) is closed with a close frame carrying wsproto's
    code; see `_handle_events`.
    """

    _ping_task: asyncio.Task[Any] | None = None
    receiver: Callable[[dict[str, Any]], None] | None = None
    #: Writes held by realtime.server.direct's cork, in order (None: not corked).
    corked: list[bytes] | None = None
    _app_queue: asyncio.Queue[Any] | None = None

    async def handle(self, event: Any) -> None:
        if type(event) is Data and self.take_fast_path(event.data):
            return
        await super().handle(event)
        if self._app_queue is None and self.app_put is not None:
            queue = getattr(self.app_put, "__self__", None)
            if isinstance(queue, asyncio.Queue):
                self._app_queue = queue
                self.app_put = self._put
        if self.closed and self._ping_task is not None:
            self._ping_task.cancel()
            self._ping_task = None

    def take_fast_path(self, data: bytes) -> bool:
        """
        Hand `data` to the receiver if it is nothing but complete binary frames and nothing read
        before it is still in wsproto or Hypercorn's queue; False leaves it to Hypercorn.
        """
        receiver = self.receiver
        queue = self._app_queue
        if (
            receiver is None
            or self.closed
            or queue is None
            or not queue.empty()
            or not _wsproto_idle(self.connection)
        ):
            return False
        payloads = parse_binary_frames(data, _FAST_FRAME_LIMIT)
        if payloads is None:
            return False
        for payload in payloads:
            receiver({"type": "websocket.receive", "bytes": payload})
        return True

    async def _put(self, message: dict[str, Any]) -> None:
        queue = self._app_queue
        assert queue is not None
        receiver = self.receiver
        if receiver is not None and message["type"] == "websocket.receive" and queue.empty():
            receiver(message)
        else:
            await queue.put(message)

    async def _send_pings(self) -> None:
        """
        Hypercorn 0.18's ping loop, with the first ping one interval after accept, not at it.

        A ping right at accept proves nothing the handshake just did not, and costs each join a
        frame out and the client's pong in, which no shortcut parses (Hypercorn's read path,
        wsproto): during a reconnect storm that was ~8 % of a join's CPU on the survivor
        (docs/performance.md §3.11).
        """
        self._ping_task = asyncio.current_task()
        interval = self.config.websocket_ping_interval
        assert interval is not None  # Hypercorn starts this task only with an interval
        while not self.closed:
            await self.context.sleep(interval)
            if self.closed:
                break
            await self._send_wsproto_event(Ping())

    async def _handle_events(self) -> None:
        """
        Hypercorn 0.18's WSStream._handle_events, plus a close frame for a frame wsproto refused.

        wsproto reports a frame it cannot parse (ParseFailed) as a CloseConnection event carrying
        the close code (1007 for invalid UTF-8, 1002 for a protocol error), but leaves its
        connection OPEN; Hypercorn answers a CloseConnection only when the peer started the close
        (REMOTE_CLOSING), so it would close the TCP connection without a close frame and the
        client would see 1006. Here our close frame goes out first, with wsproto's code and
        reason (which wsproto cuts to fit a close frame); the peer's frames after it are not read.
        """
        for event in self.connection.events():
            if isinstance(event, Message):
                try:
                    self.buffer.extend(event)
                except ws_stream.FrameTooLargeError:
                    await self._send_wsproto_event(
                        CloseConnection(code=CloseReason.MESSAGE_TOO_BIG)
                    )
                    break
                if event.message_finished:
                    assert self.app_put is not None
                    await self.app_put(self.buffer.to_message())
                    self.buffer.clear()
            elif isinstance(event, Ping):
                await self._send_wsproto_event(event.response())
            elif isinstance(event, CloseConnection):
                if self.connection.state is ConnectionState.REMOTE_CLOSING:
                    await self._send_wsproto_event(event.response())
                elif self.connection.state is ConnectionState.OPEN:
                    await self._send_wsproto_event(
                        CloseConnection(code=event.code, reason=event.reason)
                    )
                await self.send(StreamClosed(stream_id=self.stream_id))


def install_hypercorn_patches() -> None:
    """
    Refuse permessage-deflate and end ping tasks on close, in every Hypercorn protocol.

    Both replace classes inside Hypercorn (pinned to 0.18.x in pyproject.toml: re-check these on
    upgrade, tests/realtime/test_serve.py covers both). Idempotent.
    """
    from hypercorn.protocol import h2, h11

    refuse_permessage_deflate()
    h11.WSStream = InkroomWSStream  # type: ignore[attr-defined]
    h2.WSStream = InkroomWSStream  # type: ignore[attr-defined]
