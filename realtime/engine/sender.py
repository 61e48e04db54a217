"""
The send path of one socket: a bounded outgoing queue drained by one writer task.

The hub only appends (`push` never awaits), so a slow socket never stalls a room or a tick. Under
Hypercorn a frame pushed while nothing is waiting is written to the transport at once
(realtime.server.direct); otherwise the writer task writes the queue in order, awaiting the
transport's drain, or calls the raw ASGI `send` where there is no direct path. Past its bound
(frames, bytes, or SEND_STALL_SECS without a completed send) the queue is discarded and the socket
closed with 4008.

A frame that nobody waits for (`push_lazy`: the committed entries of ops a socket already holds as
tentatives) is not written on its own: it goes out with the socket's next frame, in one transport
write, or after LAZY_SECS (realtime.engine.lazy). A write is a send system call, the largest cost
of a frame (docs/performance.md §2.0o), and a busy board's next `tent` frame follows within a
tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from hypercorn.utils import UnexpectedMessageError

from realtime.engine.lazy import lazy_flusher
from realtime.server.direct import DirectSocket, direct_socket
from realtime.wire.protocol import CloseCode

logger = logging.getLogger(__name__)

Send = Callable[[dict[str, Any]], Awaitable[None]]

#: A socket whose writer has not finished a send for this long while frames wait is closed with
#: 4008 (seconds). The frame bound alone would take far longer to reach at a busy board's pace,
#: once the kernel's buffer filled; a realtime client that received nothing for 5 s is better
#: off resyncing. Not
#: applied while a catch-up (Bulk) frame is in flight: a big board over a slow link may take
#: longer than this, and that is progress.
SEND_STALL_SECS = 5.0
#: How long a close frame may take to go out before we give up on the socket: a stalled
#: transport never takes it, and the server tears the connection down on its own anyway.
CLOSE_SEND_TIMEOUT_SECS = 5.0


class Tally:
    """
    Frames written by every send queue of the process, as a plain int: a prometheus_client `inc()`
    per frame takes a lock; the hub adds this to inkroom_frames_out_total once per tick.
    """

    __slots__ = ("frames",)

    def __init__(self) -> None:
        self.frames = 0

    def take(self) -> int:
        """
        The frames written since the last call.
        """
        frames, self.frames = self.frames, 0
        return frames


#: What a send raises once the connection is gone (Hypercorn: a send after the close).
_GONE = (ConnectionError, OSError, UnexpectedMessageError)

#: Every frame handed to the transport (ops, acks, cursors, text, close frames excluded).
SENT = Tally()


class Bulk(bytes):
    """
    A catch-up frame: queued whatever the bound (its size is bounded by the board's) and not
    counted against SEND_QUEUE_BYTES, so a big snapshot does not get a healthy socket closed.
    """


class SendQueue:
    """
    A socket's outgoing frames (bytes → binary frame, str → text frame) and its writer task.
    """

    __slots__ = (
        "_acked",
        "_acked_at",
        "_bulk_sending",
        "_bytes",
        "_clock",
        "_closing",
        "_direct",
        "_lazy",
        "_progress",
        "_queue",
        "_send",
        "_wake",
        "_writer",
        "_wrote",
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
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self._clock = clock
        self._direct: DirectSocket | None = direct_socket(send)
        self.on_overflow = on_overflow
        self._queue: deque[bytes | str] = deque()
        #: Lazy frames not yet written; only while the queue is empty and the direct path idle.
        self._lazy: list[bytes] = []
        self._bytes = 0
        self._wake = asyncio.Event()
        self._closing = False
        #: When the writer last finished a send, or the queue last became non-empty.
        self._progress = self._clock()
        self._bulk_sending = False
        #: The peer's acknowledged byte count when last seen moving, and when (monotonic).
        self._acked = -1
        self._acked_at = self._progress
        #: Whether a frame was written since the last stall check (idle sockets skip the check).
        self._wrote = False
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
        now = self._clock()
        direct = self._direct
        if not self._queue:
            if direct is not None and direct.idle:
                return self._write_now(direct, frame, now)
            self._progress = now
        if self._lazy:
            self._unlazy()
        self._queue.append(frame)
        if type(frame) is Bulk:
            self._wake.set()
            return True
        self._bytes += len(frame)
        if (
            len(self._queue) > self.max_frames
            or self._bytes > self.max_bytes
            or (now - self._progress > SEND_STALL_SECS and not self._bulk_sending)
        ):
            self.abort(CloseCode.TOO_SLOW)
            if self.on_overflow is not None:
                self.on_overflow()
            return False
        self._wake.set()
        return True

    @contextlib.contextmanager
    def corked(self) -> Iterator[None]:
        """
        Frames written at once while in this block go out in one socket write at its end
        (realtime.server.direct's cork). The block must not await.
        """
        direct = self._direct
        if direct is None:
            yield
            return
        direct.cork()
        try:
            yield
        finally:
            direct.uncork()

    def uncork(self) -> None:
        """
        Write what a cork on this socket holds now (realtime.server.direct.cork_socket).
        """
        if self._direct is not None:
            self._direct.uncork()

    def push_lazy(self, frame: bytes) -> bool:
        """
        Queue a frame the client can wait for (push's answer): written with the socket's next
        frame, or on its own after LAZY_SECS; at once where there is no idle direct path.
        """
        direct = self._direct
        if self._closing or self._queue or direct is None or not direct.idle:
            return self.push(frame)
        if not self._lazy:
            lazy_flusher().add(self)
        self._lazy.append(frame)
        return True

    def flush_lazy(self) -> None:
        """
        Write the lazy frames now (the flusher's timer).
        """
        if not self._lazy or self._closing:
            return
        direct = self._direct
        if direct is not None and not self._queue and direct.idle:
            frames, self._lazy = self._lazy, []
            self._write_now(direct, frames.pop(), self._clock(), frames)
        else:
            self._unlazy()
            self._wake.set()

    def _unlazy(self) -> None:
        """
        Move the lazy frames into the queue, ahead of anything pushed after them.
        """
        lazy, self._lazy = self._lazy, []
        self._queue.extend(lazy)
        self._bytes += sum(len(f) for f in lazy)

    def stalled(self, now: float) -> bool:
        """
        True when data has waited for the peer SEND_STALL_SECS on end and it acknowledged none.

        The frame and byte bounds catch a reader that stopped only once the kernel's buffer is
        full, and with v2's small frames a 64 KiB buffer holds a minute of a busy board: a
        stopped reader shuts its TCP window at once, and its acknowledged byte count stops.
        Checked by the hub's housekeeping, once a second.
        """
        direct = self._direct
        if direct is None or self._closing:
            return False
        if not self._wrote and self._acked < 0:
            return False  # nothing waited at the last check and nothing was written since
        self._wrote = False
        waiting = direct.waiting()
        if not waiting:  # nothing waits (most sockets, most of the time), or cannot tell
            self._acked, self._acked_at = -1, now
            return False
        acked = direct.acked()
        if acked is None or acked != self._acked:
            self._acked, self._acked_at = -1 if acked is None else acked, now
            return False
        return now - self._acked_at > SEND_STALL_SECS

    def _write_now(
        self,
        direct: DirectSocket,
        frame: bytes | str,
        now: float,
        before: list[bytes] | None = None,
    ) -> bool:
        """
        Write `frame` to the transport, after the lazy frames (or `before`) in the same write.
        """
        if before is None and self._lazy:
            before, self._lazy = self._lazy, []
        try:
            if before:
                direct.write_many([*before, frame])
                SENT.frames += len(before)
            else:
                direct.write(frame)
        except ConnectionResetError:  # the consumer is about to see the disconnect
            return False
        except Exception:
            # A frame that cannot be written (a server bug, e.g. text that is not UTF-8) must
            # not raise into whatever pushed it (a tick serving every board): this socket goes.
            logger.exception("a frame could not be written; closing the socket with 1011")
            self.abort(CloseCode.INTERNAL_ERROR)
            return False
        SENT.frames += 1
        self._progress = now
        self._wrote = True
        self._bulk_sending = type(frame) is Bulk
        return True

    def close(self, code: int) -> None:
        """
        Send what is queued, then close with `code`.
        """
        if not self._closing:
            if self._lazy:
                self._unlazy()
            self._closing, self.close_code = True, code
            self._wake.set()

    def abort(self, code: int) -> None:
        """
        Drop what is queued and close with `code` now (the writer may be stuck in a send).
        """
        if self._closing and not self._queue and not self._lazy:
            return
        self._closing, self.close_code = True, code
        self._queue.clear()
        self._lazy.clear()
        self._bytes = 0
        self._writer.cancel()
        self._writer = asyncio.get_running_loop().create_task(self._send_close())

    @property
    def writer(self) -> asyncio.Task[None]:
        """
        The task that writes the queue and then the close frame (done once it went out).
        """
        return self._writer

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
        self._lazy.clear()
        self._writer.cancel()

    async def _write(self) -> None:
        queue, send, direct, sent = self._queue, self._send, self._direct, SENT
        try:
            while True:
                while queue:
                    frame = queue.popleft()
                    sent.frames += 1
                    bulk = type(frame) is Bulk
                    if not bulk:
                        self._bytes -= len(frame)
                    self._bulk_sending = bulk  # no stall bound while a catch-up goes out
                    if direct is not None:
                        direct.write(frame)
                        await direct.drain()
                    elif isinstance(frame, bytes):
                        await send({"type": "websocket.send", "bytes": frame})
                    else:
                        await send({"type": "websocket.send", "text": frame})
                    self._progress = self._clock()
                    self._wrote = True
                if self._closing:
                    break
                self._wake.clear()
                await self._wake.wait()
        except asyncio.CancelledError:
            raise
        except _GONE:  # the transport went away under us; the consumer sees the disconnect
            logger.debug("socket send failed", exc_info=True)
            return
        except Exception:
            logger.exception("a frame could not be written; closing the socket with 1011")
            self._queue.clear()
            self._bytes = 0
            self._closing, self.close_code = True, CloseCode.INTERNAL_ERROR
        await self._send_close()

    async def _send_close(self) -> None:
        code = self.close_code or CloseCode.NORMAL
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                self._send({"type": "websocket.close", "code": int(code)}),
                CLOSE_SEND_TIMEOUT_SECS,
            )
