"""
The board consumer and hub end to end through the real ASGI stack (middleware included), on the
in-memory and the real Redis channel layer, against the real database.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import msgpack
import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.utils import timezone
from rest_framework.authtoken.models import Token

from board.models import Membership, Op, Role, ShareLink
from realtime.wire import protocol
from realtime.wire.protocol import CloseCode
from tests.support import refclient
from tests.support.ops import append, stroke
from tests.support.store import board_rows

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.requires_postgres]


async def test_hello_describes_board_role_and_limits(layer, connect, board, user):
    client = await connect(board, user, client_id="alice-tab-1")
    hello = client.hello
    assert hello.v == 1  # what the client asked for
    assert hello.client_id == "alice-tab-1"
    assert hello.role == "owner"
    assert hello.user == {"id": user.pk, "name": "alice"}
    assert hello.board == {"id": board.id, "title": board.title, "link_access": "none"}
    assert hello.head_seq == 0
    assert hello.limits["max_ops_per_frame"] == 256
    assert [p["client_id"] for p in hello.presence] == ["alice-tab-1"]
    frames, synced = await client.sync()
    assert synced.seq == 0
    assert [type(f) for f in frames] == [protocol.Snap]
    await client.close()


async def test_two_clients_receive_identical_ops_frames_and_the_author_sees_its_ops_committed(
    layer, connect, board, user
):
    alice = await connect(board, user, client_id="alice-tab-1")
    bob = await connect(board, user, client_id="bob-tab-1")
    await alice.sync()
    await bob.sync()
    await alice.send_ops([stroke(1, "s1"), append(2, "s1")])
    got = await _binaries(alice, {"ops"})
    rows = await sync_to_async(list)(
        Op.objects.filter(board=board).order_by("seq").values_list("seq", "client_op_id")
    )
    assert rows == [(1, 1), (2, 2)]  # durable by the time the author saw its entries (its ack)
    raw_a = got["ops"]
    raw_b = (await _binaries(bob, {"ops"}))["ops"]
    assert raw_a == raw_b
    frame = refclient.decode_server_binary(raw_b)
    assert [e["s"] for e in frame.ops] == [1, 2]
    assert frame.ops[0]["c"] == "alice-tab-1" and frame.ops[0]["u"] == user.pk
    # §2.2: new ops are acknowledged by their entries; no separate `ack` frame follows.
    await alice.send_text(protocol.ClientPing(t="after"))
    rest = []
    while (msg := await alice.recv()) != protocol.Pong(t="after"):
        rest.append(msg)
    assert not [m for m in rest if isinstance(m, protocol.Ack)]
    await alice.close()
    await bob.close()


async def _binaries(client, kinds: set[str]) -> dict[str, bytes]:
    """
    Read frames until one binary frame of each kind arrived; return their raw bytes.
    """
    got: dict[str, bytes] = {}
    while set(got) != kinds:
        message = await client.recv_raw()
        data = message.get("bytes")
        if data is not None:
            got.setdefault(refclient.decode_server_binary(data).to_wire()["t"], data)
    return got


async def test_resent_ops_are_acked_with_their_original_seq_and_stored_once(
    layer, connect, board, user
):
    alice = await connect(board, user, client_id="alice-tab-1")
    await alice.sync()
    ops = [stroke(1, "s1"), append(2, "s1"), {"i": 3, "k": "del", "ids": ["s1"]}]
    await alice.send_ops(ops)
    assert await alice.expect_acked(3) == [(1, 1), (2, 2), (3, 3)]
    await alice.close()
    # The tab reloads before it saw the ack: it resends its whole outbox (the `add` now fails
    # the board check, the `app` names a deleted element: both must still be acked, not refused).
    again = await connect(board, user, client_id="alice-tab-1", since=0)
    await again.sync()
    await again.send_ops(ops)
    assert (await again.expect(protocol.Ack)).a == [(1, 1), (2, 2), (3, 3)]
    assert await board_rows(board) == [
        (1, "alice-tab-1", 1),
        (2, "alice-tab-1", 2),
        (3, "alice-tab-1", 3),
    ]
    await again.close()


async def assert_still_works(client) -> None:
    await client.send_text(protocol.ClientPing(t="still-there"))
    assert await client.expect(protocol.Pong) == protocol.Pong(t="still-there")


BAD_FRAMES = [
    (b"\xc1", "bad_frame"),
    (msgpack.packb([1, 2, 3]), "bad_frame"),
    (msgpack.packb({"t": "lol"}), "unknown_type"),
    (msgpack.packb({"t": "ops", "ops": "x"}), "bad_message"),
    (msgpack.packb({"t": "cur", "x": "1", "y": 2}), "bad_message"),
    ('{"type": "ping", "t": NaN}', "bad_message"),
    ("not json", "bad_frame"),
    ('{"type": "teleport"}', "unknown_type"),
    ('{"type": "resync", "from": "x"}', "bad_message"),
    # Lone surrogates (legal JSON escapes, not Unicode text): refused at decode (issue 14).
    ('{"type": "presence", "name": "\\ud800", "color": "#000000"}', "bad_message"),
    ('{"type": "ping", "t": "\\ud800"}', "bad_message"),
    ('{"type": "resync", "from": 0, "\\udfff": 1}', "bad_message"),
    (
        msgpack.packb({"t": "ops", "ops": [{"i": 1, "k": "del", "ids": ["@"]}]}).replace(
            b"\xa1@", b"\xa3\xed\xa0\x80"
        ),
        "bad_frame",
    ),  # U+D800 as "UTF-8" in a msgpack str
]


@pytest.mark.parametrize(("frame", "code"), BAD_FRAMES, ids=[repr(f)[:30] for f, _ in BAD_FRAMES])
async def test_malformed_frames_get_an_error_and_leave_board_and_socket_intact(
    memory_layer, connect, board, user, frame, code
):
    client = await connect(board, user)
    await client.sync()
    if isinstance(frame, str):
        await client.comm.send_to(text_data=frame)
    else:
        await client.comm.send_to(bytes_data=frame)
    error = await client.expect(protocol.Error)
    assert error.code == code
    protocol.encode(error).encode("utf-8")  # what a real transport does with the text frame
    await assert_still_works(client)
    assert await board_rows(board) == []
    await client.close()


async def test_invalid_ops_are_refused_with_their_ids_and_valid_ones_stored(
    layer, connect, board, user, make_board
):
    other = await sync_to_async(make_board)(user, title="Other")
    elsewhere = await connect(other, user)
    await elsewhere.sync()
    await elsewhere.send_ops([stroke(1, "theirs")])
    await elsewhere.expect_acked(1)
    client = await connect(board, user)
    await client.sync()
    client_id = client.hello.client_id
    bad_style = stroke(3, "s2")
    bad_style["el"]["style"]["color"] = "red"
    await client.send_ops([stroke(1, "s1"), append(2, "theirs"), bad_style, {"i": 4, "k": "rst"}])
    errors, mine = [], []  # the ops frame (our ack) may come before the tick's refusal
    while len(errors) < 3 or not mine:
        msg = await client.recv()
        errors += [msg] if isinstance(msg, protocol.Error) else []
        mine += [(e["i"], e["s"]) for e in getattr(msg, "ops", []) if e["c"] == client_id]
    assert mine == [(1, 1)]
    assert sorted((e.code, tuple(e.ids)) for e in errors) == [
        ("invalid_op", (2,)),
        ("invalid_op", (3,)),
        ("invalid_op", (4,)),
    ]
    assert any("theirs" in e.message for e in errors)  # another board's element is unknown here
    assert [r[0] for r in await board_rows(board)] == [1]
    await client.close()
    await elsewhere.close()


async def test_too_large_frames_and_too_many_ops(memory_layer, connect, board, user, settings):
    settings.INKROOM = {**settings.INKROOM, "MAX_FRAME_BYTES": 2048, "MAX_OPS_PER_FRAME": 4}
    client = await connect(board, user)
    assert client.hello.limits["max_frame_bytes"] == 2048
    await client.sync()
    await client.comm.send_to(
        bytes_data=msgpack.packb({"t": "cur", "x": 1, "y": 1, "z": "x" * 4096})
    )
    assert (await client.expect(protocol.Error)).code == "too_large"
    await client.send_ops([{"i": k, "k": "clr"} for k in range(1, 6)])
    error = await client.expect(protocol.Error)
    assert (error.code, error.ids) == ("too_large", [1, 2, 3, 4, 5])
    await assert_still_works(client)
    assert await board_rows(board) == []
    await client.close()


async def test_viewer_ops_are_refused_read_only(layer, connect, board, make_user):
    viewer = await sync_to_async(make_user)("victor")
    await sync_to_async(Membership.objects.create)(board=board, user=viewer, role=Role.VIEWER)
    client = await connect(board, viewer)
    assert client.hello.role == "viewer"
    await client.sync()
    await client.send_ops([stroke(7, "s1"), stroke(8, "s2")])
    error = await client.expect(protocol.Error)
    assert (error.code, error.ids) == ("read_only", [7, 8])
    await assert_still_works(client)
    assert await board_rows(board) == []
    await client.close()


async def test_refusals_close_with_documented_codes_before_any_data(
    memory_layer, connect, board, user, make_user, make_board
):
    stranger = await sync_to_async(make_user)("mallory")
    cases = [
        (dict(board=board, user=None), CloseCode.UNAUTHENTICATED),
        # No role reads as no board, as in the API (test_socket_credentials.py).
        (dict(board=board, user=stranger), CloseCode.NOT_FOUND),
        (dict(board=SimpleNamespace(id="no-such-board"), user=user), CloseCode.NOT_FOUND),
        (dict(board=board, user=user, query="v=9"), CloseCode.PROTOCOL_ERROR),
        (dict(board=board, user=None, query="token=forged"), CloseCode.UNAUTHENTICATED),
    ]
    for kwargs, code in cases:
        client = await connect(**kwargs, expect_hello=False)
        message = await client.recv_raw()
        assert message == {"type": "websocket.close", "code": code}, kwargs


async def test_share_link_grants_its_role_to_anonymous_clients(memory_layer, connect, board):
    link = await sync_to_async(ShareLink.objects.create)(board=board, role=Role.VIEWER)
    client = await connect(board, None, query=f"share={link.token}")
    assert client.hello.role == "viewer"
    assert client.hello.user == {"id": None, "name": "guest"}
    await client.close()


async def test_a_share_link_that_expires_closes_the_sockets_it_alone_admitted(
    memory_layer, connect, board, make_user
):
    expires = timezone.now() + timedelta(seconds=1.5)
    link = await sync_to_async(ShareLink.objects.create)(
        board=board, role=Role.EDITOR, expires_at=expires
    )
    member = await sync_to_async(make_user)("member")
    await sync_to_async(Membership.objects.create)(board=board, user=member, role=Role.EDITOR)
    guest = await connect(board, None, query=f"share={link.token}")
    also_member = await connect(board, member, query=f"share={link.token}")
    assert guest.hello.role == also_member.hello.role == "editor"
    await guest.sync()
    await also_member.sync()
    # The hub's upkeep checks expiries every second: within a few seconds of the expiry.
    assert await guest.expect_close(timeout=6) == CloseCode.FORBIDDEN
    await also_member.send_ops([stroke(1, "kept")])  # its membership still lets it draw
    assert await also_member.expect_acked(1) == [(1, 1)]
    await also_member.close()


async def test_session_cookie_and_api_token_authenticate(memory_layer, connect, board, user):
    session = await sync_to_async(_login_session)(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={session}".encode()
    client = await connect(board, None, headers=[(b"cookie", cookie)])
    assert client.hello.user["id"] == user.pk
    await client.close()
    token = await sync_to_async(Token.objects.create)(user=user)
    client = await connect(board, None, headers=[(b"authorization", f"Token {token.key}".encode())])
    assert client.hello.role == "owner"
    await client.close()


def _login_session(user) -> str:
    from importlib import import_module

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return str(store.session_key)


async def test_foreign_origin_is_refused_before_the_handshake(
    memory_layer, app, hub_cleanup, board
):
    path = f"/ws/boards/{board.id}/?v=1"
    foreign = WebsocketCommunicator(app, path, headers=[(b"origin", b"https://evil.example")])
    assert (await foreign.connect())[0] is False  # closed before accept: HTTP 403
    same = WebsocketCommunicator(
        app, path, headers=[(b"host", b"127.0.0.1:8000"), (b"origin", b"http://127.0.0.1:8000")]
    )
    assert (await same.connect())[0] is True
    assert await same.receive_output(1) == {"type": "websocket.close", "code": 4001}


async def test_cursors_reach_the_other_sockets_in_one_frame(layer, connect, board, user):
    alice = await connect(board, user, client_id="alice-tab-1")
    bob = await connect(board, user, client_id="bob-tab-1")
    await alice.sync()
    await bob.sync()
    await alice.comm.send_to(bytes_data=msgpack.packb({"t": "cur", "x": 5, "y": -7}))
    cursors = await bob.expect(protocol.Cursors)
    assert cursors.c == [["alice-tab-1", 5, -7]]
    await alice.close()
    await bob.close()


@pytest.mark.parametrize("version", [1, 2])
async def test_a_laser_cursor_carries_its_flag_to_the_room(layer, connect, board, user, version):
    alice = await connect(board, user, client_id="alice-tab-1", version=version)
    bob = await connect(board, user, client_id="bob-tab-1", version=version)
    await alice.sync()
    await bob.sync()
    await alice.comm.send_to(bytes_data=msgpack.packb({"t": "cur", "x": 5, "y": 6, "l": 1}))
    assert (await bob.expect(protocol.Cursors)).c == [["alice-tab-1", 5, 6, None, 1]]
    vp = [0, 0, 800, 600]
    await alice.comm.send_to(
        bytes_data=msgpack.packb({"t": "cur", "x": 7, "y": 8, "vp": vp, "l": 1})
    )
    assert (await bob.expect(protocol.Cursors)).c == [["alice-tab-1", 7, 8, vp, 1]]
    await alice.comm.send_to(bytes_data=msgpack.packb({"t": "cur", "x": 9, "y": 9, "l": 0}))
    assert (await bob.expect(protocol.Cursors)).c == [["alice-tab-1", 9, 9]]
    await alice.close()
    await bob.close()


async def test_a_viewer_may_point_the_laser(layer, connect, board, user, make_user):
    # Presenting to a read-only audience goes both ways: a viewer points at what is drawn
    # (as tldraw lets read-only users), while its ops stay refused.
    viewer = await sync_to_async(make_user)("victor")
    await sync_to_async(Membership.objects.create)(board=board, user=viewer, role=Role.VIEWER)
    victor = await connect(board, viewer, client_id="victor-tab-1")
    alice = await connect(board, user, client_id="alice-tab-1")
    await victor.sync()
    await alice.sync()
    await victor.comm.send_to(bytes_data=msgpack.packb({"t": "cur", "x": 3, "y": 4, "l": 1}))
    assert (await alice.expect(protocol.Cursors)).c == [["victor-tab-1", 3, 4, None, 1]]
    await victor.close()
    await alice.close()


async def test_a_junk_laser_flag_is_refused_and_not_passed_on(layer, connect, board, user):
    alice = await connect(board, user, client_id="alice-tab-1")
    bob = await connect(board, user, client_id="bob-tab-1")
    await alice.sync()
    await bob.sync()
    await alice.comm.send_to(bytes_data=msgpack.packb({"t": "cur", "x": 1, "y": 1, "l": "on"}))
    error = await alice.expect(protocol.Error)
    assert (error.code, error.message) == ("bad_message", "l: expected 0 or 1")
    await alice.comm.send_to(bytes_data=msgpack.packb({"t": "cur", "x": 2, "y": 2}))
    assert (await bob.expect(protocol.Cursors)).c == [["alice-tab-1", 2, 2]]
    await alice.close()
    await bob.close()


async def test_presence_lists_everyone_and_follows_name_changes(layer, connect, board, user):
    alice = await connect(board, user, client_id="alice-tab-1")
    await alice.sync()
    bob = await connect(board, user, client_id="bob-tab-1")
    await bob.sync()
    await bob.send_text(protocol.ClientPresence(name="Bob", color="#00ff00"))
    while True:
        presence = await alice.expect(protocol.Presence)
        names = {c["client_id"]: c["name"] for c in presence.clients}
        if names.get("bob-tab-1") == "Bob":
            break
    assert names["alice-tab-1"] == "alice"
    await bob.close()
    while True:
        presence = await alice.expect(protocol.Presence)
        if [c["client_id"] for c in presence.clients] == ["alice-tab-1"]:
            break
    await alice.close()


async def test_a_lone_surrogate_presence_is_refused_at_decode_and_every_board_keeps_going(
    layer, connect, board, user, make_board
):
    """
    Issue 14: a presence name that is not Unicode text once crashed the encoding of the presence
    frame in the process-wide tick. It is refused when the frame is decoded, so it never reaches
    the room: the sender gets `bad_message` and keeps its socket, its board and every other
    board keep drawing, and the presence everyone sees is unchanged.
    """
    from realtime.engine.hub import get_hub

    other = await sync_to_async(make_board)(user, title="Other")
    elsewhere = await connect(other, user, client_id="else-tab-1")
    await elsewhere.sync()
    watcher = await connect(board, user, client_id="watch-tab-1")
    await watcher.sync()
    client = await connect(board, user, client_id="alice-tab-1")
    await client.sync()
    room = get_hub().rooms[board.id]
    names = {peer.client_id: peer.name for peer in room.peers.values()}
    await client.comm.send_to(text_data='{"type":"presence","name":"\\ud800","color":"#000000"}')
    error = await client.expect(protocol.Error)
    assert error.code == "bad_message" and error.message.startswith("name: ")
    # Nothing reached the room: no name changed, so no tick has a presence frame to encode.
    assert {peer.client_id: peer.name for peer in room.peers.values()} == names
    await assert_still_works(client)
    await elsewhere.send_ops([stroke(1, "theirs")])
    assert await elsewhere.expect_acked(1) == [(1, 1)]
    await client.send_ops([stroke(1, "mine")])
    assert await client.expect_acked(1) == [(1, 1)]
    # A valid name afterwards goes through the tick to the other sockets.
    await client.send_text(protocol.ClientPresence(name="Al \U0001f58a", color="#00ff00"))
    while True:
        presence = await watcher.expect(protocol.Presence)
        names = {c["client_id"]: c["name"] for c in presence.clients}
        assert "\ud800" not in names.values()
        if names.get("alice-tab-1") == "Al \U0001f58a":
            break
    for c in (client, watcher, elsewhere):
        await c.close()


async def test_a_lone_surrogate_key_in_an_up_add_style_is_an_encodable_invalid_op(
    memory_layer, connect, board, user
):
    # UP_ADD carries its style as JSON text, which may spell "\ud800" in a key; the refusal names
    # the field without copying the key into the UTF-8 error frame.
    from realtime.wire import compact

    client = await connect(board, user, version=2)
    await client.sync()
    frame = bytearray((compact.UP_ADD, 1))
    compact.put_string(frame, "s1")
    frame += b"\x00\x00"  # x, y
    compact.put_string(frame, '{"color":"#1e1e1e","fill":null,"opacity":1,"width":4,"\\ud800":1}')
    compact.put_points(frame, [0, 0], None)
    await client.comm.send_to(bytes_data=bytes(frame))
    while True:
        raw = await client.recv_raw()
        text = raw.get("text")
        if text is not None and '"error"' in text:
            break
    raw_text = text.encode("utf-8")  # a real transport encodes it: must not raise
    error = refclient.decode_server_text(raw_text.decode())
    assert (error.code, error.ids) == ("invalid_op", [1])
    await assert_still_works(client)
    await client.close()


async def test_non_ascii_digits_in_the_socket_query_are_not_numbers(
    memory_layer, connect, board, user
):
    # Superscript two and Arabic-Indic one pass str.isdigit() yet int("\u00b2") raises: `since`
    # falls back to 0, `v` is refused with 4000, instead of an exception in admission.
    client = await connect(board, user, query="since=%C2%B2")
    _, synced = await client.sync()
    assert synced.seq == 0
    await client.close()
    for version in ("%C2%B2", "%D9%A1"):
        client = await connect(board, user, query=f"v={version}", expect_hello=False)
        assert await client.recv_raw() == {
            "type": "websocket.close",
            "code": CloseCode.PROTOCOL_ERROR,
        }
