"""
The listening sockets: Hypercorn's Config whose sockets carry a bounded kernel send buffer.

Linux autotunes a TCP socket's send buffer up to net.ipv4.tcp_wmem's maximum (4 MiB here, and on
loopback it gets there): a client that stops reading then absorbs minutes of a room's traffic in
the kernel before the socket's send queue (SEND_QUEUE_FRAMES) fills, so the slow consumer is never
closed with 4008 and its memory grows meanwhile. Setting SO_SNDBUF turns autotuning off for that
socket; accepted sockets inherit the listener's value on Linux, so setting it once on each
listening socket bounds every connection. The send queue adds a time bound (realtime.engine.sender
SEND_STALL_SECS), which alone would let the kernel buffer hide a stall for minutes.
"""

from __future__ import annotations

import logging
import socket

from hypercorn.config import Config, Sockets

from config.env import env_int

logger = logging.getLogger(__name__)

#: SO_SNDBUF asked for each socket (bytes; the kernel doubles it for bookkeeping, so a socket
#: holds up to ~128 KiB unsent). A busy board's `ops` frames to one socket run at 10-100 KiB/s,
#: so a stalled reader fills this within seconds, then Hypercorn's transport buffer (64 KiB),
#: then the send queue (closed with 4008 after SEND_STALL_SECS or SEND_QUEUE_FRAMES); a healthy
#: reader on a 1 Mbit/s link still has ~1 s in flight, more than a round trip. 0 leaves the
#: kernel's autotuning on. Env: INKROOM_SOCKET_SNDBUF.
SOCKET_SNDBUF_BYTES = 64 * 1024


def socket_sndbuf() -> int:
    """
    The SO_SNDBUF to set on listening sockets (bytes; 0 = kernel default, autotuned).
    """
    return max(0, env_int("INKROOM_SOCKET_SNDBUF", SOCKET_SNDBUF_BYTES))


def bound_send_buffers(sockets: list[socket.socket], size: int) -> None:
    """
    Set SO_SNDBUF to `size` bytes on each TCP socket (accepted sockets inherit it).
    """
    for sock in sockets:
        if size and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)


class BoundedConfig(Config):
    """
    Hypercorn's Config whose listening sockets get SO_SNDBUF = socket_sndbuf().
    """

    def create_sockets(self) -> Sockets:
        sockets: Sockets = super().create_sockets()
        size = socket_sndbuf()
        bound_send_buffers([*sockets.secure_sockets, *sockets.insecure_sockets], size)
        logger.info("listening sockets: SO_SNDBUF %s bytes (0 = autotuned)", size)
        return sockets
