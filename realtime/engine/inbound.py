"""
What the hub does with one frame from a socket: decode, check, and queue for the next tick.

Runs on the event loop for every inbound frame, so it never touches the database: structural
validation (board.document.validate_op), the viewer check and the rate limit are all in memory;
validation against the board happens in the tick (realtime.engine.ticker).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from board.access import can_edit
from board.conf import app_settings
from board.document import validate_app, validate_op
from board.exceptions import BoardFull, OpRejected
from realtime.conf import realtime_settings
from realtime.engine.room import Peer
from realtime.wire.compact import UpAdd, UpApp, UpNext
from realtime.wire.protocol import (
    ClientCursor,
    ClientOps,
    ClientPing,
    ClientPresence,
    ClientResync,
    CloseCode,
    ErrorCode,
    Pong,
    ProtocolError,
    decode_binary,
    decode_text,
    encode,
    is_op_id,
    op_ids,
)

if TYPE_CHECKING:
    from realtime.engine.hub import Hub


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _oversize_ids(data: bytes) -> list[int] | None:
    """
    The op ids a frame above max_frame_bytes holds, read without the limits, for its `too_large`
    answer (protocol §6); None when it holds none (a cursor, an UP_NEXT) or does not decode.
    """
    try:
        msg = decode_binary(data, max_ops_per_frame=len(data), max_points_per_op=len(data))
    except ProtocolError as exc:
        return exc.ids
    if isinstance(msg, ClientOps):
        return op_ids(msg.ops)
    if isinstance(msg, UpApp | UpAdd):
        return [msg.i] if is_op_id(msg.i) else []
    return None


def on_binary(hub: Hub, peer: Peer, data: bytes) -> None:
    """
    Handle a binary frame: ops or a cursor.
    """
    hub.counts.frames_in += 1
    conf = realtime_settings()
    if len(data) > conf.max_frame_bytes:
        peer.last_i = None  # a frame refused whole: what it held is unknown (protocol §2.5)
        message = f"frame of {len(data)} bytes is too large"
        hub.error(peer, ErrorCode.TOO_LARGE, message, _oversize_ids(data))
        return
    try:
        msg = decode_binary(
            data,
            max_ops_per_frame=conf.max_ops_per_frame,
            max_points_per_op=int(app_settings.MAX_POINTS_PER_OP),
        )
    except ProtocolError as exc:
        peer.last_i = None
        hub.error(peer, exc.code, exc.message, exc.ids)
        return
    if isinstance(msg, UpApp | UpAdd | UpNext):
        if peer.version < 2:
            ids = None if isinstance(msg, UpNext) else [msg.i]
            hub.error(peer, ErrorCode.BAD_FRAME, "compact frames need protocol v2", ids)
        elif isinstance(msg, UpNext):
            _on_up_next(hub, peer, msg, len(data))
        elif isinstance(msg, UpApp):
            peer.last_i = msg.i
            _on_up_app(hub, peer, msg, len(data))
        else:
            peer.last_i = msg.i
            _on_up_add(hub, peer, msg, len(data))
        return
    if isinstance(msg, ClientCursor):
        # Cursors spend the byte budget too; over it they are dropped (they are ephemeral) and
        # a client that keeps flooding is closed like an op flooder.
        if not peer.limiter.allow(0, len(data), hub.clock()):
            if peer.limiter.abusive:
                hub.close_peer(peer, CloseCode.RATE_LIMITED)
            return
        row: list[Any] = [peer.client_id, msg.x, msg.y]
        if msg.vp is not None:
            row.append(msg.vp)
        peer.cursor = row
        hub.work.set()
        return
    if peer.version >= 2:
        _track_stroke(peer, msg.ops)
        last = msg.ops[-1]
        i = last.get("i") if isinstance(last, dict) else None
        peer.last_i = i if is_op_id(i) else None
    _on_ops(hub, peer, msg.ops, len(data))


def _on_up_app(hub: Hub, peer: Peer, msg: UpApp, size: int) -> None:
    """
    A v2 compact stroke append: the `app` op it stands for, on the connection's current stroke.
    """
    _on_app(hub, peer, msg.i, msg.p, msg.pr, size)


def _on_up_next(hub: Hub, peer: Peer, msg: UpNext, size: int) -> None:
    """
    A v2 compact stroke append numbered one after the connection's last op: UP_APP's op.
    """
    if peer.last_i is None:
        hub.error(peer, ErrorCode.BAD_MESSAGE, "UP_NEXT before any op on this connection", None)
        return
    peer.last_i += 1
    _on_app(hub, peer, peer.last_i, msg.p, None, size)


def _on_app(hub: Hub, peer: Peer, i: int, p: list[int], pr: list[int] | None, size: int) -> None:
    """
    Queue a compact frame's `app` op: _on_ops for one op the decoder already typed (most frames
    of a drawing client are these, so they skip building a map for validate_op).
    """
    if peer.stroke is None:
        hub.error(peer, ErrorCode.BAD_MESSAGE, "UP_APP before any stroke on this connection", [i])
        return
    hub.counts.ops_in += 1
    refusal = _refusal(hub, peer, 1, size)
    if refusal is not None:
        _refuse(hub, peer, refusal, [i])
        return
    room = hub.rooms.get(peer.board_id)
    if room is None:
        return
    try:
        op = validate_app(i, peer.stroke, p, pr, hub.limits, where="ops[0]")
    except OpRejected as exc:
        hub.error(peer, ErrorCode.INVALID_OP, exc.message, [i], _str(exc.extra.get("field")))
        return
    room.pending.append((peer, op))
    hub.work.set()


def _on_up_add(hub: Hub, peer: Peer, msg: UpAdd, size: int) -> None:
    """
    A v2 compact stroke `add`: the op it stands for; "" style means the previous UP_ADD's.
    """
    peer.stroke = msg.id  # decoded: the current stroke, whatever becomes of the op (§2.5)
    style = msg.style
    if style is None:
        if peer.style is None:
            hub.error(peer, ErrorCode.BAD_MESSAGE, "UP_ADD without a style to repeat", [msg.i])
            return
        style = peer.style
    else:
        peer.style = style
    el: dict[str, Any] = {
        "id": msg.id,
        "type": "stroke",
        "x": msg.x,
        "y": msg.y,
        # A copy per op: the state keeps it, and `upd` merges into element styles in place.
        "style": dict(style) if isinstance(style, dict) else style,
        "p": msg.p,
    }
    if msg.pr is not None:
        el["pr"] = msg.pr
    _on_ops(hub, peer, [{"i": msg.i, "k": "add", "el": el}], size)


def _track_stroke(peer: Peer, ops: list[Any]) -> None:
    """
    Follow the connection's current stroke (protocol §2.5): the last stroke `add` or `app` sent,
    accepted or not.
    """
    for op in ops:
        if not isinstance(op, dict):
            continue
        kind = op.get("k")
        if kind == "app":
            target = op.get("id")
        elif kind == "add":
            el = op.get("el")
            target = el.get("id") if isinstance(el, dict) and el.get("type") == "stroke" else None
        else:
            continue
        if isinstance(target, str):
            peer.stroke = target


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
    Spend a text frame's cost from the socket's budgets; over them, answer `rate_limited` and
    close a client that keeps on with 4029, as for ops.
    """
    if peer.limiter.allow(cost, size, hub.clock()):
        return True
    if peer.limiter.abusive:
        hub.close_peer(peer, CloseCode.RATE_LIMITED)
    else:
        hub.error(peer, ErrorCode.RATE_LIMITED, "too many control frames; slow down", None)
    return False


def on_text(hub: Hub, peer: Peer, text: str) -> None:
    """
    Handle a text frame: resync, presence or ping.
    """
    hub.counts.frames_in += 1
    if len(text) > realtime_settings().max_frame_bytes:
        hub.error(peer, ErrorCode.TOO_LARGE, f"frame of {len(text)} chars is too large", None)
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
