"""
The send path of one socket: a bounded outgoing queue drained by one writer task.

The hub only appends (`push` never awaits), so a slow socket never stalls a room or a tick; the
writer calls the raw ASGI `send` with pre-encoded frames, nothing per message in between. Past
its bound (frames or bytes) the queue is discarded and the socket closed with 4008.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from realtime.protocol import CloseCode

logger = logging.getLogger(__name__)

Send = Callable[[dict[str, Any]], Awaitable[None]]

#: How long a close frame may take to go out before we give up on the socket: a stalled
#: transport never takes it, and the server tears the connection down on its own anyway.
CLOSE_SEND_TIMEOUT_SECS = 5.0


class Bulk(bytes):
    """
    A catch-up frame: queued whatever the bound (its size is bounded by the board's) and not
    counted against SEND_QUEUE_BYTES, so a big snapshot does not get a healthy socket closed.
    """


class Outbox:
    """
    A socket's outgoing frames (bytes → binary frame, str → text frame) and its writer task.
    """

    __slots__ = (
        "_bytes",
        "_closing",
        "_queue",
        "_send",
        "_wake",
        "_writer",
        "close_code",
        "max_bytes",
        "max_frames",
        "on_overflow",
    )

    def __init__(
        self,
        send: Send,
        *,
        max_frames: int,
        max_bytes: int,
        on_overflow: Callable[[], None] | None = None,
    ) -> None:
        self._send = send
        self.on_overflow = on_overflow
        self._queue: deque[bytes | str] = deque()
        self._bytes = 0
        self._wake = asyncio.Event()
        self._closing = False
        self.close_code: int | None = None
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self._writer = asyncio.get_running_loop().create_task(self._write())

    @property
    def closed(self) -> bool:
        return self._closing

    @property
    def load(self) -> float:
        """
        How full the queue is, 0..1 (cursors are skipped above one half).
        """
        return max(len(self._queue) / self.max_frames, self._bytes / self.max_bytes)

    def push(self, frame: bytes | str) -> bool:
        """
        Queue a frame; False when the socket is closing or was just closed for overflowing.
        """
        if self._closing:
            return False
        self._queue.append(frame)
        if type(frame) is Bulk:
            self._wake.set()
            return True
        self._bytes += len(frame)
        if len(self._queue) > self.max_frames or self._bytes > self.max_bytes:
            self.abort(CloseCode.TOO_SLOW)
            if self.on_overflow is not None:
                self.on_overflow()
            return False
        self._wake.set()
        return True

    def close(self, code: int) -> None:
        """
        Send what is queued, then close with `code`.
        """
        if not self._closing:
            self._closing, self.close_code = True, code
            self._wake.set()

    def abort(self, code: int) -> None:
        """
        Drop what is queued and close with `code` now (the writer may be stuck in a send).
        """
        if self._closing and not self._queue:
            return
        self._closing, self.close_code = True, code
        self._queue.clear()
        self._bytes = 0
        self._writer.cancel()
        self._writer = asyncio.get_running_loop().create_task(self._send_close())

    async def wait_closed(self, timeout: float) -> None:
        """
        Wait until the close frame went out (or `timeout` seconds passed).
        """
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(self._writer), timeout)

    def cancel(self) -> None:
        """
        Stop the writer without sending anything (the client is already gone).
        """
        self._closing = True
        self._queue.clear()
        self._writer.cancel()

    async def _write(self) -> None:
        queue, send = self._queue, self._send
        try:
            while True:
                while queue:
                    frame = queue.popleft()
                    if type(frame) is not Bulk:
                        self._bytes -= len(frame)
                    if isinstance(frame, bytes):
                        await send({"type": "websocket.send", "bytes": frame})
                    else:
                        await send({"type": "websocket.send", "text": frame})
                if self._closing:
                    break
                self._wake.clear()
                await self._wake.wait()
        except asyncio.CancelledError:
            raise
        except Exception:  # the transport went away under us; the consumer sees the disconnect
            logger.debug("socket send failed", exc_info=True)
            return
        await self._send_close()

    async def _send_close(self) -> None:
        code = self.close_code or CloseCode.NORMAL
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                self._send({"type": "websocket.close", "code": int(code)}),
                CLOSE_SEND_TIMEOUT_SECS,
            )
