"""
The two halves of RFC 6455 framing our hot paths need, as pure functions on bytes.

Server → client: `frame` builds one unmasked, unfragmented frame (realtime.server.direct writes it
to the transport). Client → server: `parse_binary_frames` reads a chunk that is a run of complete,
unfragmented, masked binary frames — what a board client sends — and answers None for anything else
(control, text, fragmented, partial, oversized or malformed frames), which then goes to wsproto, the
full implementation. Each frame's payload is unmasked with one big-int XOR, not wsproto's
per-frame objects and four `translate`s.
"""

from __future__ import annotations

#: First header byte: FIN plus the opcode (RFC 6455 §5.2).
FIN_TEXT = 0x81
FIN_BINARY = 0x82
#: Second byte of a client frame: the MASK bit.
_MASKED = 0x80


def frame_header(first_byte: int, length: int) -> bytes:
    """
    The header of an unmasked server frame carrying `length` payload bytes.
    """
    if length < 126:
        return bytes((first_byte, length))
    if length < 65536:
        return bytes((first_byte, 126)) + length.to_bytes(2, "big")
    return bytes((first_byte, 127)) + length.to_bytes(8, "big")


def frame(message: bytes | str) -> bytes:
    """
    `message` as one complete server frame: binary for bytes, text (UTF-8) for str.
    """
    if isinstance(message, str):
        payload = message.encode()
        return frame_header(FIN_TEXT, len(payload)) + payload
    return frame_header(FIN_BINARY, len(message)) + message


def unmask(payload: bytes, mask: bytes) -> bytes:
    """
    `payload` XORed with the repeated 4-byte `mask`.
    """
    length = len(payload)
    if not length:
        return b""
    key = (mask * (length // 4 + 1))[:length]
    value = int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")
    return value.to_bytes(length, "little")


def parse_binary_frames(data: bytes, max_length: int) -> list[bytes] | None:
    """
    The payloads of `data` if it is exactly a run of complete binary frames from a client, each
    final (FIN), without RSV bits, masked and at most `max_length` (< 65536) bytes; else None.
    """
    payloads: list[bytes] = []
    end = len(data)
    pos = 0
    while pos < end:
        if end - pos < 6 or data[pos] != FIN_BINARY:
            return None
        second = data[pos + 1]
        if not second & _MASKED:
            return None
        length = second & 0x7F
        pos += 2
        if length == 126:
            length = int.from_bytes(data[pos : pos + 2], "big")
            pos += 2
        elif length == 127:
            return None
        if length > max_length or end - pos < 4 + length:
            return None
        mask = data[pos : pos + 4]
        pos += 4
        payloads.append(unmask(data[pos : pos + length], mask))
        pos += length
    return payloads
