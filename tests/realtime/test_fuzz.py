"""
Property-based fuzzing of the socket: arbitrary bytes, arbitrary JSON and msgpack of arbitrary
structures, and op-shaped garbage. Whatever arrives, the server answers with error frames (or a
documented close), never crashes the consumer, never changes the board behind an error, and a
second client on the board keeps working.
"""

from __future__ import annotations

import json
from typing import Any

import msgpack
import pytest
from asgiref.sync import sync_to_async
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from board.models import Board, Membership, Role
from realtime.wire import protocol
from tests.support import refclient
from tests.support.ops import stroke
from tests.support.store import board_rows

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.requires_postgres]

#: The fuzzed socket's client id: its own entries in `ops` frames are its acks.
FUZZER_ID = "fuzzer-01"
#: Closes a fuzzed socket may legitimately see (documented in protocol.md §7).
DOCUMENTED_CLOSES = {protocol.CloseCode.RATE_LIMITED, protocol.CloseCode.TOO_SLOW}
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: Text that broke servers before: lone surrogates, what XML refuses, digits int() refuses,
#: NUL and a direction override. Lone surrogates reach the server as JSON escapes and as
#: msgpack strings that are not UTF-8 (what a hostile client can send; no real text frame can).
HOSTILE_TEXT = ["\ud800", "a\udfffb", "\ufffe", "\uffff", "²", "٣", "\x00", "\u202e"]
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(HOSTILE_TEXT)
    | st.text(st.characters(exclude_categories=()), max_size=8)
)
structures = st.recursive(
    scalars | st.binary(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=20,
)
json_structures = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=20,
)
op_keys = st.sampled_from(
    ["i", "k", "el", "id", "p", "pr", "ids", "dx", "dy", "set", "from", "els"]
)
op_kinds = st.sampled_from(["add", "app", "upd", "mov", "del", "clr", "rst", "zap"])
op_shaped = st.fixed_dictionaries(
    {
        "t": st.just("ops"),
        "ops": st.lists(
            st.dictionaries(op_keys, structures, max_size=6).map(lambda d: {**d})
            | st.builds(
                lambda i, k, rest: {"i": i, "k": k, **rest},
                st.integers(min_value=-5, max_value=2**54),
                op_kinds,
                st.dictionaries(op_keys, structures, max_size=4),
            ),
            min_size=1,
            max_size=4,
        ),
    }
)


def _pack(value: Any) -> bytes:
    packed: bytes = msgpack.packb(value, use_bin_type=True, unicode_errors="surrogatepass")
    return packed


frames = (
    st.binary(max_size=64)
    | structures.map(lambda s: _pack(s))
    | st.fixed_dictionaries(
        {"t": st.sampled_from(["ops", "cur", "x"])},
        optional={"x": structures, "y": structures, "ops": structures, "vp": structures},
    ).map(_pack)
    | json_structures.map(lambda s: json.dumps(s, allow_nan=True))
    | st.fixed_dictionaries(
        {"type": st.sampled_from(["resync", "presence", "ping", "hello"])},
        optional={
            "from": json_structures,
            "name": json_structures,
            "color": json_structures,
            "t": json_structures,
        },
    ).map(lambda d: json.dumps(d, allow_nan=True))
    | st.text(max_size=40)
)


def acked_ids(msg: Any) -> list[int]:
    """
    The fuzzer's op ids a server frame acknowledges: an `ack`, or its own entries (§2.2).
    """
    if isinstance(msg, protocol.Ack):
        return [i for i, _ in msg.a]
    if isinstance(msg, protocol.OpsFrame):
        return [e["i"] for e in msg.ops if e["c"] == FUZZER_ID]
    return []


class Fuzzer:
    """
    One socket under fuzz plus a bystander; reconnects after a documented close.
    """

    def __init__(self, connect: Any, board: Board, user: Any, bystander: Any) -> None:
        self.connect, self.board, self.user, self.bystander = connect, board, user, bystander
        self.client: Any = None
        self.acked: set[int] = set()
        self.pings = 0

    async def read_acks_until(self, wanted: set[int]) -> None:
        while not wanted <= self.acked:
            self.acked.update(acked_ids(await self.client.recv()))

    async def send(self, frame: bytes | str) -> None:
        if self.client is None:
            self.client = await self.connect(self.board, self.user, client_id=FUZZER_ID)
            await self.client.sync()
        # send_input, not send_to: Channels' helper refuses empty frames, which clients can send.
        key = "text" if isinstance(frame, str) else "bytes"
        await self.client.comm.send_input({"type": "websocket.receive", key: frame})
        self.pings += 1
        token = f"probe-{self.pings}"
        await self.client.comm.send_to(text_data=json.dumps({"type": "ping", "t": token}))
        while True:
            message = await self.client.recv_raw()
            if message["type"] == "websocket.close":
                assert message["code"] in DOCUMENTED_CLOSES, message
                self.client = None
                return
            msg = (
                refclient.decode_server_binary(message["bytes"])
                if message.get("bytes") is not None
                else refclient.decode_server_text(message["text"])
            )
            self.acked.update(acked_ids(msg))
            if isinstance(msg, protocol.Error):
                assert msg.code in {e.value for e in protocol.ErrorCode}
            if msg == protocol.Pong(t=token):
                return


@FUZZ
@given(frame=frames)
async def test_viewer_socket_survives_arbitrary_frames_and_board_is_unchanged(
    memory_layer, connect, board, make_user, frame
):
    await _check_frame(connect, board, make_user, frame, Role.VIEWER)


@FUZZ
@given(frame=op_shaped.map(_pack))
async def test_editor_socket_stores_only_what_it_acks(
    memory_layer, connect, board, make_user, frame
):
    await _check_frame(connect, board, make_user, frame, Role.EDITOR)


_state: dict[str, Any] = {}


async def _check_frame(connect: Any, board: Board, make_user: Any, frame: Any, role: str) -> None:
    """
    One example; the sockets and the user live for the whole test (hypothesis reuses fixtures).
    """
    key = f"{board.id}:{role}"
    if _state.get("key") != key:
        user = await sync_to_async(make_user)()
        await sync_to_async(Membership.objects.create)(board=board, user=user, role=role)
        bystander = await connect(board, user, client_id="bystander-01")
        await bystander.sync()
        _state.clear()
        _state.update(key=key, fuzzer=Fuzzer(connect, board, user, bystander), owner=user)
    fuzzer: Fuzzer = _state["fuzzer"]
    await fuzzer.send(frame)
    rows = await board_rows(board)
    if role == Role.VIEWER:
        assert rows == []
    else:
        stored = {i for _, client_id, i in rows if client_id == FUZZER_ID}
        assert fuzzer.acked <= stored  # acked means durable
        if fuzzer.client is not None:
            await fuzzer.read_acks_until(stored)  # the ack may trail the pong (next tick)
        assert stored <= fuzzer.acked
    # The bystander is unaffected: its ping still comes back.
    await fuzzer.bystander.send_text(protocol.ClientPing(t="bystander"))
    assert await fuzzer.bystander.expect(protocol.Pong) == protocol.Pong(t="bystander")


async def test_after_fuzzing_a_normal_client_still_draws(memory_layer, connect, board, user):
    client = await connect(board, user)
    await client.sync()
    await client.send_ops([stroke(1, "s1")])
    assert await client.expect_acked(1) == [(1, 1)]
