"""
What the hub does with one frame from a socket: decode, check, and queue for the next tick.

The socket's codec (realtime.wire.codec) says what a binary frame stands for, whatever the
protocol version: raw ops, one stroke append already typed, or a cursor. Runs on the event loop
for every inbound frame, so it never touches the database: structural validation
(board.document.validate_op), the viewer check and the rate limit are all in memory; validation
against the board happens in the tick (realtime.engine.ticker).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from board.access import can_edit
from board.document import validate_app, validate_op
from board.exceptions import BoardFull, OpRejected
from realtime.engine.room import Peer
from realtime.wire.codec import frame_too_large
from realtime.wire.protocol import (
    ClientAppend,
    ClientCursor,
    ClientPing,
    ClientPresence,
    ClientResync,
    CloseCode,
    ErrorCode,
    Pong,
    ProtocolError,
    encode,
)
from realtime.wire.v1 import decode_text, op_ids

if TYPE_CHECKING:
    from realtime.engine.hub import Hub


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def on_binary(hub: Hub, peer: Peer, data: bytes) -> None:
    """
    Handle a binary frame: ops or a cursor, as the connection's codec reads it.
    """
    hub.counts.frames_in += 1
    try:
        msg = peer.codec.decode(data)
    except ProtocolError as exc:
        # A refused frame was still read (an oversize one even scanned for its op ids) and is
        # answered: it spends the budgets, so a flood of them is throttled and closed like one
        # of ops.
        if _within_budget(hub, peer, 1, len(data)):
            hub.error(peer, exc.code, exc.message, exc.ids)
        return
    if isinstance(msg, ClientAppend):
        _on_append(hub, peer, msg, len(data))
    elif isinstance(msg, ClientCursor):
        # Cursors spend the byte budget too; over it they are dropped (they are ephemeral) and
        # a client that keeps flooding is closed like an op flooder.
        if not peer.limiter.allow(0, len(data), hub.clock()):
            if peer.limiter.abusive:
                hub.close_peer(peer, CloseCode.RATE_LIMITED)
            return
        row: list[Any] = [peer.client_id, msg.x, msg.y]
        if msg.vp is not None or msg.laser:
            row.append(msg.vp)
        if msg.laser:
            row.append(1)
        peer.cursor = row
        hub.work.set()
    else:
        _on_ops(hub, peer, msg.ops, len(data))


def _on_append(hub: Hub, peer: Peer, msg: ClientAppend, size: int) -> None:
    """
    Queue a compact frame's `app` op: _on_ops for one op the decoder already typed (most frames
    of a drawing client are these, so they skip building a map for validate_op).
    """
    i = msg.i
    hub.counts.ops_in += 1
    refusal = _refusal(hub, peer, 1, size)
    if refusal is not None:
        _refuse(hub, peer, refusal, [i])
        return
    room = hub.rooms.get(peer.board_id)
    if room is None:
        return
    try:
        op = validate_app(i, msg.id, msg.p, msg.pr, hub.limits, where="ops[0]")
    except OpRejected as exc:
        hub.error(peer, ErrorCode.INVALID_OP, exc.message, [i], _str(exc.extra.get("field")))
        return
    room.pending.append((peer, op))
    hub.work.set()


def _on_ops(hub: Hub, peer: Peer, ops: list[Any], size: int) -> None:
    hub.counts.ops_in += len(ops)
    refusal = _refusal(hub, peer, len(ops), size)
    if refusal is not None:
        _refuse(hub, peer, refusal, op_ids(ops))
        return
    room = hub.rooms.get(peer.board_id)
    if room is None:
        return
    for k, raw in enumerate(ops):
        try:
            op = validate_op(raw, hub.limits, where=f"ops[{k}]")
        except OpRejected as exc:
            code = ErrorCode.BOARD_FULL if isinstance(exc, BoardFull) else ErrorCode.INVALID_OP
            hub.error(peer, code, exc.message, op_ids([raw]), _str(exc.extra.get("field")))
            continue
        room.pending.append((peer, op))
    if room.pending:
        hub.work.set()


def _refusal(hub: Hub, peer: Peer, n_ops: int, size: int) -> tuple[ErrorCode, str] | None:
    """
    Why the peer may not send these ops now (role, rate limit), or None when it may.
    """
    if not can_edit(peer.role):
        return ErrorCode.READ_ONLY, "viewers cannot change the board"
    if not peer.limiter.allow(n_ops, size, hub.clock()):
        return ErrorCode.RATE_LIMITED, "over your op budget; resend later"
    return None


def _refuse(hub: Hub, peer: Peer, refusal: tuple[ErrorCode, str], ids: list[int]) -> None:
    hub.error(peer, *refusal, ids)
    if refusal[0] is ErrorCode.RATE_LIMITED and peer.limiter.abusive:
        hub.close_peer(peer, CloseCode.RATE_LIMITED)


#: What a `resync` costs from the socket's op budget: it makes the server read and send the
#: board's log from a seq, where a ping or a presence change costs one.
RESYNC_COST = 50


def _within_budget(hub: Hub, peer: Peer, cost: int, size: int) -> bool:
    """
    Spend a control frame's (or a refused frame's) cost from the socket's budgets; over them,
    answer `rate_limited` and close a client that keeps on with 4029, as for ops.
    """
    if peer.limiter.allow(cost, size, hub.clock()):
        return True
    if peer.limiter.abusive:
        hub.close_peer(peer, CloseCode.RATE_LIMITED)
    else:
        hub.error(peer, ErrorCode.RATE_LIMITED, "too many frames; slow down", None)
    return False


def on_text(hub: Hub, peer: Peer, text: str) -> None:
    """
    Handle a text frame: resync, presence or ping.
    """
    hub.counts.frames_in += 1
    if len(text) > peer.codec.limits.max_frame_bytes:
        if _within_budget(hub, peer, 1, len(text)):
            exc = frame_too_large(len(text), None, "chars")
            hub.error(peer, exc.code, exc.message, exc.ids)
        return
    try:
        msg = decode_text(text)
    except ProtocolError as exc:
        if _within_budget(hub, peer, 1, len(text)):
            hub.error(peer, exc.code, exc.message, exc.ids)
        return
    if not _within_budget(
        hub, peer, RESYNC_COST if isinstance(msg, ClientResync) else 1, len(text)
    ):
        return
    if isinstance(msg, ClientPing):
        peer.send_queue.push(encode(Pong(t=msg.t)))
    elif isinstance(msg, ClientResync):
        room = hub.rooms.get(peer.board_id)
        if room is not None and room.ready:
            hub.start_catch_up(room, peer, msg.from_seq)
    elif isinstance(msg, ClientPresence):
        peer.name, peer.color = msg.name, msg.color
        room = hub.rooms.get(peer.board_id)
        if room is not None:
            room.presence_dirty = True
            hub.pods.announce.add(peer.board_id)
            hub.work.set()
