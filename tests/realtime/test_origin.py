"""
The socket Origin rule (realtime.asgi.origin, protocol §1): scheme, host and port must be the
request's own origin or a CSRF_TRUSTED_ORIGINS entry (issue 15, finding 10).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from realtime.asgi.origin import origin_allowed, origin_key


def _scope(
    origin: str | None, host: str | None = "127.0.0.1:8000", scheme: str = "ws", **headers: str
) -> dict[str, Any]:
    raw = [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
    if host is not None:
        raw.append((b"host", host.encode()))
    if origin is not None:
        raw.append((b"origin", origin.encode()))
    return {"type": "websocket", "scheme": scheme, "headers": raw, "server": ("127.0.0.1", 8000)}


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://127.0.0.1:8000", True),
        ("HTTP://127.0.0.1:8000", True),
        # Before: every one of these was admitted, only the host name was compared.
        ("http://127.0.0.1:8001", False),
        ("http://127.0.0.1", False),
        ("https://127.0.0.1:8000", False),
        ("http://localhost:8000", False),  # another allowed host is another origin
        ("http://127.0.0.1:8000/path", False),
        ("null", False),
        ("http://user@127.0.0.1:8000", False),
        ("ws://127.0.0.1:8000", False),
        ("http://127.0.0.1:99999", False),
        ("https://evil.example", False),
    ],
)
def test_the_origin_must_be_the_requests_own(origin: str, allowed: bool) -> None:
    assert origin_allowed(_scope(origin)) is allowed


def test_no_origin_is_admitted_and_every_origin_header_must_pass() -> None:
    assert origin_allowed(_scope(None))
    scope = _scope("http://127.0.0.1:8000")
    scope["headers"].append((b"origin", b"http://127.0.0.1:9"))
    assert not origin_allowed(scope)


def test_the_scheme_comes_from_the_connection_or_x_forwarded_proto() -> None:
    assert origin_allowed(_scope("https://127.0.0.1:8000", scheme="wss"))
    assert not origin_allowed(_scope("http://127.0.0.1:8000", scheme="wss"))
    # TLS ends at the Ingress: SECURE_PROXY_SSL_HEADER makes X-Forwarded-Proto authoritative.
    forwarded = _scope("https://127.0.0.1:8000", x_forwarded_proto="https")
    assert origin_allowed(forwarded)
    assert not origin_allowed(_scope("http://127.0.0.1:8000", x_forwarded_proto="https"))


@override_settings(ALLOWED_HOSTS=["inkroom.example.com"])
def test_default_ports_and_hosts_outside_allowed_hosts() -> None:
    ingress = {"host": "inkroom.example.com", "x_forwarded_proto": "https"}
    assert origin_allowed(_scope("https://inkroom.example.com", **ingress))
    assert origin_allowed(_scope("https://inkroom.example.com:443", **ingress))
    assert not origin_allowed(_scope("https://inkroom.example.com:8443", **ingress))
    assert not origin_allowed(_scope("http://inkroom.example.com", **ingress))
    # A Host Django would refuse is nobody's own origin.
    assert not origin_allowed(_scope("http://evil.example", host="evil.example"))
    assert not origin_allowed(_scope("http://127.0.0.1:8000", host=None))


@override_settings(
    ALLOWED_HOSTS=["inkroom.example.com"],
    CSRF_TRUSTED_ORIGINS=["https://inkroom.example.com", "https://*.apps.example.com:8443"],
)
def test_csrf_trusted_origins_match_scheme_host_and_port() -> None:
    def allowed(origin: str) -> bool:
        return origin_allowed(_scope(origin, host="inkroom.example.com"))

    assert allowed("https://inkroom.example.com")
    assert not allowed("http://inkroom.example.com:443")
    assert allowed("https://apps.example.com:8443")
    assert allowed("https://a.b.apps.example.com:8443")
    assert not allowed("https://a.apps.example.com")
    assert not allowed("https://evilapps.example.com:8443")
    assert not allowed("http://a.apps.example.com:8443")


@override_settings(DEBUG=True, ALLOWED_HOSTS=[])
def test_debug_without_allowed_hosts_admits_local_pages_only() -> None:
    assert origin_allowed(_scope("http://localhost:5173", host="localhost:5173"))
    assert not origin_allowed(_scope("http://localhost:5173", host="localhost:8000"))


def test_remembered_answers_follow_the_headers_and_settings() -> None:
    # Answers are remembered by the headers they depend on; asking again must never give the
    # answer of another Host, Origin, forwarded scheme or of settings since changed.
    foreign = _scope("https://app.example.com")
    assert not origin_allowed(foreign)
    with override_settings(CSRF_TRUSTED_ORIGINS=["https://app.example.com"]):
        assert origin_allowed(foreign)
    assert not origin_allowed(foreign)
    own = _scope("https://127.0.0.1:8000", x_forwarded_proto="https")
    assert origin_allowed(own)
    assert not origin_allowed(_scope("https://127.0.0.1:8000", x_forwarded_proto="http"))
    assert not origin_allowed(_scope("https://127.0.0.1:8000", host="127.0.0.1:8001"))
    assert origin_allowed(own)
    with override_settings(ALLOWED_HOSTS=["inkroom.example.com"]):
        assert not origin_allowed(own)


def test_origin_key() -> None:
    assert origin_key("https://[::1]:8000") == ("https", "::1", 8000)
    assert origin_key("http://Example.COM") == ("http", "example.com", 80)
    assert origin_key("http://") is None
    assert origin_key("http://a:b") is None


async def test_a_refused_handshake_is_closed_before_accept() -> None:
    from realtime.asgi.routing import board_socket

    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    # A foreign Origin is refused before anything else is looked at: a close before accept,
    # which the server answers with HTTP 403.
    scope = {**_scope("http://127.0.0.1:8001"), "path": "/ws/boards/1/", "extensions": {}}
    await board_socket(scope, receive, send)
    assert sent == [{"type": "websocket.close"}]
    # The own origin passes on to routing: an unknown path is then a 404.
    sent.clear()
    ext = {"websocket.http.response": {}}
    await board_socket(
        {**_scope("http://127.0.0.1:8000"), "path": "/nope/", "extensions": ext}, receive, send
    )
    assert sent[0]["type"] == "websocket.http.response.start" and sent[0]["status"] == 404
