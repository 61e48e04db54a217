"""
Admitting or refusing a board socket before accept() (the origin check and the path come before
it, in realtime.asgi.routing; how a socket is admitted is realtime.asgi.admission).

`send` is passed through unwrapped: unlike channels' AuthMiddlewareStack/SessionMiddleware,
nothing here sits on the per-message path. A refused socket is accepted and closed at once with
4000/4001/4004/4009 (browsers cannot read the status of a refused upgrade) and gets no data; an
error while resolving closes it with 1011, so a handshake is never left hanging.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from realtime.asgi.admission.batching import get_admissions
from realtime.asgi.admission.handshake import (
    Scope,
    is_number,
    knock,
    query_params,
    wants_presence_deltas,
    wants_tentatives,
)
from realtime.asgi.admission.tally import get_tally
from realtime.wire.protocol import SUPPORTED_VERSIONS, CloseCode

logger = logging.getLogger(__name__)


Run = Callable[[Scope, Any, Any], Awaitable[None]]


async def admit_socket(scope: Scope, board_id: str, receive: Any, send: Any, run: Run) -> None:
    """
    Admit or refuse a socket to `board_id`; an admitted one is `run` (the consumer) with
    scope["inkroom"] set, and counted against the caps until it ends.
    """
    query = query_params(scope)
    version = query.get("v", "1")
    if not is_number(version) or int(version) not in SUPPORTED_VERSIONS:
        return await _refuse(receive, send, CloseCode.PROTOCOL_ERROR)
    try:
        info = await get_admissions().admit(knock(scope, board_id, query))
    except Exception:
        logger.exception("admitting a socket to board %s failed", board_id)
        return await _refuse(receive, send, CloseCode.INTERNAL_ERROR)
    if info["refusal"] is not None:
        return await _refuse(receive, send, info["refusal"])
    user_id = info["user_id"]
    tally = get_tally()
    # Checked after admission, so that the code tells nothing to a caller with no role.
    if not tally.take(user_id, board_id):
        return await _refuse(receive, send, CloseCode.TOO_MANY_SOCKETS)
    since = query.get("since", "0")
    info["since"] = int(since) if is_number(since) else 0
    info["version"] = int(version)
    info["presence_delta"] = wants_presence_deltas(query)
    info["tentative"] = wants_tentatives(query)
    # The scope is this connection's own (the server made it for this handshake).
    scope["inkroom"] = info
    try:
        await run(scope, receive, send)
    finally:
        tally.give_back(user_id, board_id)


async def _refuse(receive: Any, send: Any, code: int) -> None:
    """
    Accept, then close with `code` at once: the client learns why; no data is sent.
    """
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": int(code)})
