"""
Socket admission and credentials (issue 15, findings 3, 11 and 13), through the real ASGI stack:

* a socket lives as long as the credential that admitted it: deleting the API token, signing out
  and changing the password close that credential's sockets with 4001, on every board;
* socket tickets admit once, and die with the credential that asked for them;
* caps on sockets per user per board, per user and per board, answered with 4009;
* the socket hides whether a board exists from callers with no role on it, as the API does.

Credentials come from the real API (APIClient: token, session login and logout, socket tickets),
so the tests cover the path a client takes.
"""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from rest_framework.test import APIClient

from board.models import LinkAccess, Role, ShareLink
from realtime.conf import DEFAULTS
from realtime.wire.protocol import CloseCode
from tests.support.factories import api_token, signed_in, socket_ticket
from tests.support.ops import stroke

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.requires_postgres]


# --- credentials from the API -----------------------------------------------------------------


def cookie_header(client: APIClient) -> list[tuple[bytes, bytes]]:
    value = client.cookies[settings.SESSION_COOKIE_NAME].value
    return [(b"cookie", f"{settings.SESSION_COOKIE_NAME}={value}".encode())]


def token_headers(key: str) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Token {key}".encode())]


async def refused_with(connect: Any, board: Any, user: Any = None, **kwargs: Any) -> int:
    """
    Open a socket expected to be refused; return its close code (it must get no data first).
    """
    client = await connect(board, user, expect_hello=False, **kwargs)
    message = await client.recv_raw()
    assert message["type"] == "websocket.close", message
    return int(message["code"])


async def assert_alive(client: Any, op_id: int) -> None:
    await client.send_ops([stroke(op_id, f"alive-{op_id}")])
    assert [i for i, _ in await client.expect_acked(1)] == [op_id]


# --- finding 3: revocation closes the credential's sockets -----------------------------------


async def test_deleting_the_api_token_closes_its_sockets_and_voids_its_tickets(
    layer, connect, board, user, make_board
):
    other_board = await sync_to_async(make_board)(user, title="other")
    token = await sync_to_async(api_token)(user)
    browser = await sync_to_async(signed_in)(user)
    by_header = await connect(board, None, headers=token_headers(token))
    by_ticket = await connect(
        other_board,
        None,
        query=f"token={await sync_to_async(socket_ticket)(other_board, token=token)}",
    )
    unused = await sync_to_async(socket_ticket)(board, token=token)
    by_session = await connect(board, None, headers=cookie_header(browser))
    await by_session.sync()

    response = await sync_to_async(APIClient().delete)(
        "/api/v1/auth/token/", HTTP_AUTHORIZATION=f"Token {token}"
    )
    assert response.status_code == 204
    assert await by_header.expect_close() == CloseCode.UNAUTHENTICATED
    assert await by_ticket.expect_close() == CloseCode.UNAUTHENTICATED
    # A ticket the token asked for before it was revoked no longer admits.
    assert await refused_with(connect, board, query=f"token={unused}") == 4001
    # The same user's browser session is another credential: it carries on.
    await assert_alive(by_session, 1)
    await by_session.close()


async def test_signing_out_closes_that_sessions_sockets_only(layer, connect, board, user):
    first, second = (
        await sync_to_async(signed_in)(user),
        await sync_to_async(signed_in)(user),
    )
    token = await sync_to_async(api_token)(user)
    mine = await connect(board, None, headers=cookie_header(first))
    mine_by_ticket = await connect(
        board, None, query=f"token={await sync_to_async(socket_ticket)(board, client=first)}"
    )
    unused = await sync_to_async(socket_ticket)(board, client=first)
    elsewhere = await connect(board, None, headers=cookie_header(second))
    by_token = await connect(board, None, headers=token_headers(token))
    for client in (elsewhere, by_token):
        await client.sync()

    assert (await sync_to_async(first.post)("/api/v1/auth/logout/")).status_code == 204
    assert await mine.expect_close() == CloseCode.UNAUTHENTICATED
    assert await mine_by_ticket.expect_close() == CloseCode.UNAUTHENTICATED
    assert await refused_with(connect, board, query=f"token={unused}") == 4001
    await assert_alive(elsewhere, 1)
    await assert_alive(by_token, 2)
    await elsewhere.close()
    await by_token.close()


async def test_a_password_change_closes_every_session_socket_but_not_the_tokens(
    layer, connect, board, user
):
    browser = await sync_to_async(signed_in)(user)
    token = await sync_to_async(api_token)(user)
    by_session = await connect(board, None, headers=cookie_header(browser))
    unused = await sync_to_async(socket_ticket)(board, client=browser)
    by_token = await connect(board, None, headers=token_headers(token))
    await by_token.sync()

    def change_password() -> None:
        user.set_password("a new long passphrase")
        user.save()

    await sync_to_async(change_password)()
    assert await by_session.expect_close() == CloseCode.UNAUTHENTICATED
    assert await refused_with(connect, board, query=f"token={unused}") == 4001
    # The API token outlives a password change (DELETE auth/token/ revokes it).
    await assert_alive(by_token, 1)
    await by_token.close()


async def test_a_ticket_admits_once(memory_layer, connect, board, user):
    once = await sync_to_async(socket_ticket)(board, token=await sync_to_async(api_token)(user))
    first = await connect(board, None, query=f"token={once}")
    assert first.hello.user["id"] == user.pk
    assert await refused_with(connect, board, query=f"token={once}") == 4001
    await first.close()


async def test_a_ticket_is_spent_by_a_connection_that_is_then_refused(
    memory_layer, connect, board, user, settings
):
    settings.INKROOM = {**settings.INKROOM, "MAX_SOCKETS_PER_USER_BOARD": 1}
    held = await connect(board, user)
    spent = await sync_to_async(socket_ticket)(board, token=await sync_to_async(api_token)(user))
    assert await refused_with(connect, board, query=f"token={spent}") == 4009
    await held.close()  # room again, but the ticket was used up by the refused attempt
    assert await refused_with(connect, board, query=f"token={spent}") == 4001
    fresh = await sync_to_async(socket_ticket)(board, token=await sync_to_async(api_token)(user))
    again = await connect(board, None, query=f"token={fresh}")
    await again.close()


# --- finding 11: caps on sockets ---------------------------------------------------------------


def test_the_documented_caps_are_the_defaults() -> None:
    assert DEFAULTS.max_sockets_per_user_board == 20
    assert DEFAULTS.max_sockets_per_user == 50
    assert DEFAULTS.max_sockets_per_board == 2000


async def test_sockets_per_user_per_board_are_capped(
    memory_layer, connect, board, user, make_board, settings
):
    settings.INKROOM = {**settings.INKROOM, "MAX_SOCKETS_PER_USER_BOARD": 2}
    other_board = await sync_to_async(make_board)(user, title="other")
    held = [await connect(board, user), await connect(board, user)]
    assert await refused_with(connect, board, user=user) == CloseCode.TOO_MANY_SOCKETS
    elsewhere = await connect(other_board, user)  # another board has its own count
    await held.pop().close()
    held.append(await connect(board, user))  # a closed socket frees its place
    for client in (*held, elsewhere):
        await client.close()


async def test_sockets_per_user_are_capped_across_boards(
    memory_layer, connect, user, make_user, make_board, settings
):
    settings.INKROOM = {**settings.INKROOM, "MAX_SOCKETS_PER_USER": 3}
    boards = [await sync_to_async(make_board)(user, title=f"b{k}") for k in range(4)]
    held = [await connect(b, user) for b in boards[:3]]
    assert await refused_with(connect, boards[3], user=user) == CloseCode.TOO_MANY_SOCKETS
    someone_else = await sync_to_async(make_user)("bob")
    await sync_to_async(boards[3].memberships.create)(user=someone_else, role=Role.EDITOR)
    held.append(await connect(boards[3], someone_else))  # per user, not per process
    for client in held:
        await client.close()


async def test_sockets_per_board_are_capped_for_anonymous_callers_too(
    memory_layer, connect, user, make_board, settings
):
    settings.INKROOM = {**settings.INKROOM, "MAX_SOCKETS_PER_BOARD": 2}
    board = await sync_to_async(make_board)(user, link_access=LinkAccess.VIEW)
    held = [await connect(board, None), await connect(board, user)]
    assert await refused_with(connect, board) == CloseCode.TOO_MANY_SOCKETS
    assert await refused_with(connect, board, user=user) == CloseCode.TOO_MANY_SOCKETS
    for client in held:
        await client.close()


async def test_a_cap_of_zero_means_no_cap(memory_layer, connect, board, user, settings):
    settings.INKROOM = {**settings.INKROOM, "MAX_SOCKETS_PER_USER_BOARD": 0}
    held = [await connect(board, user) for _ in range(DEFAULTS.max_sockets_per_user_board + 1)]
    for client in held:
        await client.close()


# --- finding 13: no existence oracle ---------------------------------------------------------


async def test_the_socket_hides_whether_a_board_exists_like_the_api(
    memory_layer, connect, board, make_user
):
    stranger = await sync_to_async(make_user)("mallory")
    made_up = type(board)(id="no-such-board-0")
    link = await sync_to_async(ShareLink.objects.create)(board=board, role=Role.VIEWER)
    link.revoked_at = link.created_at
    await sync_to_async(link.save)()

    def api_status(caller: Any, board_id: str) -> int:
        client = APIClient()
        if caller is not None:
            client.force_authenticate(caller)
        return int(client.get(f"/api/v1/boards/{board_id}/").status_code)

    for caller, api, socket in ((stranger, 404, 4004), (None, 401, 4001)):
        for target in (board, made_up):
            assert await sync_to_async(api_status)(caller, target.id) == api
            assert await refused_with(connect, target, user=caller) == socket, (caller, target)
            # A share token that grants nothing changes nothing.
            revoked = f"share={link.token}"
            assert await refused_with(connect, target, user=caller, query=revoked) == socket
