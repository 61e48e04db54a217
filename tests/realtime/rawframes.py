"""
Reading a server's WebSocket frames off a raw socket, for tests that speak below any client
library (malformed frames, opcodes of control frames).
"""

from __future__ import annotations


def split_server_frames(buffer: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """
    The complete (opcode, payload) frames at the start of `buffer` (server frames: unmasked),
    and the bytes after them.
    """
    frames: list[tuple[int, bytes]] = []
    while len(buffer) >= 2:
        length, offset = buffer[1] & 0x7F, 2
        if length == 126:
            length, offset = int.from_bytes(buffer[2:4], "big"), 4
        elif length == 127:
            length, offset = int.from_bytes(buffer[2:10], "big"), 10
        if len(buffer) < offset + length:
            break
        frames.append((buffer[0] & 0x0F, buffer[offset : offset + length]))
        buffer = buffer[offset + length :]
    return frames, buffer
