"""
Several tabs of one browser profile on the same board (issue 14, bug 3): each tab is its own
writer with its own client id and outbox, and an outbox left by a closed tab is delivered by
exactly one of the tabs still open.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from playwright.async_api import Browser, BrowserContext, Page, WebSocket

from board.models import Op
from tests.frontend.browser import DESKTOP, Client, sign_in
from tests.support.servers import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


async def open_tab(context: BrowserContext, server: ServerProcess, board_id: str) -> Client:
    """
    Another tab of `context` (same profile: shared cookies and localStorage) on the board.
    """
    page = await context.new_page()
    await page.goto(server.http_url(f"/b/{board_id}/"))
    tab = Client(context, page, server.http_url(""), board_id)
    await tab.wait_synced()
    return tab


async def signed_in_tab(
    browser: Browser, server: ServerProcess, board_id: str, username: str = "alice"
) -> Client:
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    await sign_in(page, server, username, next_path=f"/b/{board_id}/")
    tab = Client(context, page, server.http_url(""), board_id)
    await tab.wait_synced()
    return tab


async def stored_ops(board_id: str) -> list[tuple[str, int]]:
    """
    The board's log as (client_id, i), in seq order, read from the database.
    """

    def read() -> list[tuple[str, int]]:
        try:
            rows = Op.objects.filter(board_id=board_id).order_by("seq")
            return list(rows.values_list("client_id", "client_op_id"))
        finally:
            # The worker thread's connection would keep the test database from being dropped.
            connections.close_all()

    return await sync_to_async(read)()


async def client_id(tab: Client) -> str:
    return await tab.page.evaluate("inkroom.clientId()")


async def presence_labels(tab: Client) -> list[str]:
    return await tab.page.eval_on_selector_all(
        "#presence li button", "els => els.map(e => e.textContent)"
    )


async def settled(*tabs: Client, elements: int) -> dict[str, Any]:
    """
    Wait until the server holds `elements` elements and every tab applied its head with an empty
    outbox; return the head. Fails with what each side had when it does not happen.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while True:
        head = await tabs[0].server_state()
        states = [await t.state() for t in tabs]
        outboxes = [await t.outbox() for t in tabs]
        if (
            len(head["elements"]) == elements
            and all(s["seq"] == head["seq"] for s in states)
            and not any(outboxes)
        ):
            return head
        if loop.time() > deadline:
            raise AssertionError(
                f"server has {len(head['elements'])} elements at seq {head['seq']}, expected "
                f"{elements}; tabs at {[s['seq'] for s in states]} with "
                f"{[len(s['elements']) for s in states]} elements, outboxes "
                f"{[len(o) for o in outboxes]}"
            )
        await asyncio.sleep(0.1)


async def test_two_tabs_of_one_profile_each_keep_their_strokes(
    browser: Browser, server: ServerProcess, people: dict[str, Any]
) -> None:
    board_id = people["board"].id
    one = await signed_in_tab(browser, server, board_id)
    two = await open_tab(one.context, server, board_id)
    assert await client_id(one) != await client_id(two)
    # http://127.0.0.1 is a secure context: Web Locks lease the ids.
    assert await one.page.evaluate("inkroom.leased()") is True

    await one.stroke(100, 100)
    await two.wait("inkroom.state().elements.length === 1")
    await two.stroke(100, 250)
    await one.wait("inkroom.state().elements.length === 2")
    await one.stroke(100, 400)
    head = await settled(one, two, elements=3)
    assert (await one.state())["elements"] == head["elements"]
    assert (await two.state())["elements"] == head["elements"]
    authors = {author for author, _ in await stored_ops(board_id)}
    assert authors == {await client_id(one), await client_id(two)}

    # One presence entry per tab: ours says "(you)", the other tab of the same user says so too.
    for tab in (one, two):
        await tab.wait("document.querySelectorAll('#presence li').length === 2")
        assert sorted(await presence_labels(tab)) == ["alice (you)", "alice (you, other tab)"]


async def test_a_reloaded_tab_keeps_its_client_id_and_a_duplicate_gets_its_own(
    browser: Browser, server: ServerProcess, people: dict[str, Any]
) -> None:
    board_id = people["board"].id
    one = await signed_in_tab(browser, server, board_id)
    two = await open_tab(one.context, server, board_id)
    ids = {await client_id(one), await client_id(two)}
    for tab in (one, two, one):
        before = await client_id(tab)
        await tab.page.reload()
        await tab.wait_synced()
        assert await client_id(tab) == before
    assert {await client_id(one), await client_id(two)} == ids

    # A tab opened by window.open() starts with a copy of the opener's sessionStorage (the
    # opener's client id): it must notice the id is taken and use one of its own.
    async with one.context.expect_page() as info:
        await one.page.evaluate("url => { window.open(url); }", f"/b/{board_id}/")
    copy_page: Page = await info.value
    copy = Client(one.context, copy_page, one.base, board_id)
    await copy.wait_synced()
    assert await copy_page.evaluate("Object.keys(sessionStorage).length") > 0
    assert await client_id(copy) not in ids
    await copy.stroke(100, 100)
    await one.stroke(100, 250)
    await settled(one, two, copy, elements=2)


async def test_a_closed_tabs_outbox_is_delivered_once_by_another_tab(
    browser: Browser, server: ServerProcess, people: dict[str, Any]
) -> None:
    board_id = people["board"].id
    one = await signed_in_tab(browser, server, board_id)
    orphan_id = await client_id(one)
    await one.stroke(100, 100)
    await settled(one, elements=1)

    # Tab one loses the server (its sockets only) and draws: the stroke waits in its outbox.
    async def unreachable(ws: Any) -> None:
        await ws.close(code=1012, reason="test: server unreachable")

    await one.page.route_web_socket("**/ws/boards/**", unreachable)
    await one.page.evaluate("inkroom.editor.socket.reconnect()")
    await one.wait("!inkroom.synced()")
    await one.stroke(100, 300)
    queued = await one.outbox()
    assert queued and queued[0]["k"] == "add"

    # Two other tabs are open when tab one closes; both look for orphans, one delivers.
    others = [await open_tab(one.context, server, board_id) for _ in range(2)]
    sockets: list[str] = []

    def seen(ws: WebSocket) -> None:
        if f"client_id={orphan_id}" in ws.url:
            sockets.append(ws.url)

    for tab in others:
        tab.page.on("websocket", seen)
    await one.page.close()

    head = await settled(*others, elements=2)
    assert queued[0]["el"]["id"] in {el["id"] for el in head["elements"]}
    stored = [i for author, i in await stored_ops(board_id) if author == orphan_id]
    assert stored[-len(queued) :] == [op["i"] for op in queued]
    assert len(stored) == len(set(stored))
    # Exactly one tab adopted it, with one connection, and then forgot the dead id.
    await asyncio.sleep(3)
    assert len(sockets) == 1, sockets
    leftovers = await others[0].page.evaluate(
        "id => Object.keys(localStorage).filter(k => k.includes(id))", orphan_id
    )
    assert leftovers == []


async def test_a_tab_whose_id_someone_used_while_it_was_away_keeps_its_stroke(
    browser: Browser, server: ServerProcess, people: dict[str, Any]
) -> None:
    """
    Client ids are public (protocol §1): while alice's tab is away, bob, another member, stores
    ops under its id and the op ids its outbox holds. Back online, the tab must not take bob's
    entries for its acks; told `client_id_taken`, it starts over under a fresh id by itself and
    its stroke reaches the log as alice's.
    """
    from rest_framework.authtoken.models import Token

    from tests.support.ops import stroke
    from tests.support.wsclient import BoardClient, token_header

    board_id = people["board"].id
    alice = await signed_in_tab(browser, server, board_id)
    victim_id = await client_id(alice)
    await alice.stroke(100, 100)
    await settled(alice, elements=1)

    blocked = {"on": True}

    async def gate(ws: Any) -> None:
        if blocked["on"]:
            await ws.close(code=1012, reason="test: server unreachable")
        else:
            ws.connect_to_server()

    await alice.page.route_web_socket("**/ws/boards/**", gate)
    await alice.page.evaluate("inkroom.editor.socket.reconnect()")
    await alice.wait("!inkroom.synced()")
    await alice.stroke(100, 300)
    queued = await alice.outbox()
    assert queued and queued[0]["k"] == "add"

    token = await sync_to_async(Token.objects.create)(user=people["bob"])
    bob = BoardClient(
        server.ws_url(f"/ws/boards/{board_id}/"),
        headers=token_header(token.key),
        client_id=victim_id,
        name="bob",
    )
    await bob.connect()
    bob._next_op_id = queued[0]["i"]
    await bob.send_ops(
        [{"k": "add", "el": stroke(0, f"bob-{n}")["el"]} for n in range(len(queued))]
    )
    await bob.wait_acked()
    await bob.close()

    blocked["on"] = False
    head = await settled(alice, elements=2 + len(queued))
    assert queued[0]["el"]["id"] in {el["id"] for el in head["elements"]}
    fresh_id = await client_id(alice)
    assert fresh_id != victim_id
    stored = await stored_ops(board_id)
    assert [i for author, i in stored if author == fresh_id] == [op["i"] for op in queued]
    alice_pk, bob_pk = people["alice"].pk, people["bob"].pk

    def authors() -> dict[str, set[int | None]]:
        try:
            rows = Op.objects.filter(board_id=board_id).values_list("client_id", "author_id")
            out: dict[str, set[int | None]] = {}
            for c, a in rows:
                out.setdefault(c, set()).add(a)
            return out
        finally:
            connections.close_all()

    assert await sync_to_async(authors)() == {victim_id: {alice_pk, bob_pk}, fresh_id: {alice_pk}}
    # A reload keeps the new id.
    await alice.page.reload()
    await alice.wait_synced()
    assert await client_id(alice) == fresh_id
