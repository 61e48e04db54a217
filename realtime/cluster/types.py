"""
Typed shapes of the channel-layer events the hubs exchange and of the scope keys we add.

`board.batch` is the one message a hub publishes per tick for the boards other hubs hold;
`board.event` comes from sync code through realtime.cluster.fanout. Both travel on group
realtime.cluster.fanout.PODS_GROUP.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict


class PresenceEntry(TypedDict):
    """
    One connected client as shown in `presence` frames.
    """

    client_id: str
    user_id: int | None
    name: str
    color: str
    role: str


class BoardBatchEvent(TypedDict):
    """
    One tick of one hub: {board_id: [first_seq, last_seq, frame]} plus changed presence and
    cursors. `presence` maps a board to the hub's full local list (replaces what the hub said
    before); `rooms` lists the boards of `presence` the hub holds a room for (it gets their
    ticks); `cursors` maps a board to encoded cursor rows.
    """

    type: Literal["board.batch"]
    origin: str
    boards: dict[str, list[Any]]
    presence: NotRequired[dict[str, list[PresenceEntry]]]
    rooms: NotRequired[list[str]]
    cursors: NotRequired[dict[str, list[list[Any]]]]


class BoardEvent(TypedDict):
    """
    A push from sync code (realtime.cluster.fanout): kind is ops, meta, deleted, access (one board),
    user_gone (every board: the account was deleted or deactivated) or credential_gone (every
    board: the sockets `credential` admitted, a fingerprint or prefix from board.access).
    """

    type: Literal["board.event"]
    kind: Literal["ops", "meta", "deleted", "access", "user_gone", "credential_gone"]
    board: NotRequired[str]
    first: NotRequired[int]
    last: NotRequired[int]
    title: NotRequired[str]
    link_access: NotRequired[str]
    user: NotRequired[int | None]
    credential: NotRequired[str]


class SocketScope(TypedDict):
    """
    What realtime.asgi.middleware adds to the websocket scope before the consumer runs.
    """

    inkroom_user: Any
    inkroom_board: Any
    inkroom_role: str | None
    inkroom_refusal: int | None
