"""
The board socket's Origin check: scheme, host and port, like Django's CSRF check (protocol §1).

Not Channels' OriginValidator: it compares an ALLOWED_HOSTS entry with the Origin's host name
only, so `http://<allowed host>:<any port>` (any other site served on that host, over any scheme)
could open a socket with the victim's session cookie. Here an Origin is admitted when it is,
scheme, host and port:

* the request's own origin: the Host header (or X-Forwarded-Host when USE_X_FORWARDED_HOST),
  valid for ALLOWED_HOSTS, with the scheme of the connection (ws -> http, wss -> https, or
  X-Forwarded-Proto through SECURE_PROXY_SSL_HEADER, as Django decides `request.scheme`); or
* an entry of CSRF_TRUSTED_ORIGINS (`https://*.example.com` admits example.com and its
  subdomains on that scheme and port).

These are the origins Django's CsrfViewMiddleware accepts for the API's unsafe requests, so a page
that may POST to the API may open a socket, and nothing else may. Default ports count as given
(`https://a` is `https://a:443`). A request without Origin is admitted: browsers always send one
on a WebSocket handshake, and clients without it authenticate with tokens, which a foreign page
cannot attach. A refused handshake gets HTTP 403, before any application code runs.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils.http import is_same_domain

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
#: An origin as compared: (scheme, lower-case host without brackets, port).
OriginKey = tuple[str, str, int]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_key(origin: str) -> OriginKey | None:
    """
    Return (scheme, host, port) of a serialised origin, or None if it is not one.

    Only http(s) origins with a host and nothing after it (no path, query or credentials) count;
    "null" (sandboxed frames, file: pages) is not an origin anyone can be trusted with.
    """
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if (
        scheme not in _DEFAULT_PORTS
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
    ):
        return None
    return scheme, parts.hostname, port if port is not None else _DEFAULT_PORTS[scheme]


class _Handshake(HttpRequest):
    """
    The handshake seen as a Django request, for Django's own `get_host()` and `scheme`.

    Headers become META the way django.core.handlers.asgi.ASGIRequest does it (repeated headers
    joined with commas), so the socket and the API agree on Host, X-Forwarded-Host and
    X-Forwarded-Proto.
    """

    def __init__(self, scope: Scope) -> None:
        super().__init__()
        self._secure_transport = scope.get("scheme") in ("wss", "https")
        server = scope.get("server") or ("unknown", "0")
        self.META["SERVER_NAME"] = str(server[0])
        self.META["SERVER_PORT"] = str(server[1])
        for raw_name, raw_value in scope.get("headers", ()):
            name = "HTTP_" + bytes(raw_name).decode("latin1").upper().replace("-", "_")
            value = bytes(raw_value).decode("latin1")
            self.META[name] = f"{self.META[name]},{value}" if name in self.META else value

    def _get_scheme(self) -> str:
        return "https" if self._secure_transport else "http"


def own_origin(scope: Scope) -> OriginKey | None:
    """
    Return the origin the handshake was addressed to, or None if its Host is not allowed.
    """
    request = _Handshake(scope)
    try:
        host = request.get_host()
    except DisallowedHost:
        return None
    return origin_key(f"{request.scheme}://{host}")


def trusted(key: OriginKey, patterns: Iterable[str]) -> bool:
    """
    True when `key` is one of CSRF_TRUSTED_ORIGINS-style `patterns` (`*.` for subdomains).
    """
    scheme, host, port = key
    for pattern in patterns:
        wildcard = "://*." in pattern
        trusted_key = origin_key(pattern.replace("://*.", "://", 1) if wildcard else pattern)
        if trusted_key is None or trusted_key[0] != scheme or trusted_key[2] != port:
            continue
        if host == trusted_key[1] or (wildcard and is_same_domain(host, f".{trusted_key[1]}")):
            return True
    return False


def origin_allowed(scope: Scope) -> bool:
    """
    True when the handshake has no Origin header or every Origin it has is admitted.

    The answer depends only on the scheme, the server address, the headers in `_inputs()` and
    the settings, so it is remembered by those: a browser's reconnect wave asks the same
    question thousands of times, and building the Django request that answers it costs ~15 us
    (docs/performance.md §3.11).
    """
    headers = scope.get("headers", ())
    if not any(name == b"origin" for name, _ in headers):
        return True
    inputs = _inputs()
    key = (
        scope.get("scheme"),
        tuple(scope.get("server") or ()),
        tuple((bytes(n), bytes(v)) for n, v in headers if n in inputs),
    )
    allowed = _decisions.get(key)
    if allowed is None:
        if len(_decisions) >= _DECISIONS_MAX:
            _decisions.clear()  # many Hosts or Origins: a foreign flood; start over, bounded
        allowed = _decisions[key] = _decide(scope)
    return allowed


def _decide(scope: Scope) -> bool:
    origins = [
        bytes(value).decode("latin1")
        for name, value in scope.get("headers", ())
        if name == b"origin"
    ]
    own = own_origin(scope)
    for origin in origins:
        key = origin_key(origin)
        if key is None or (key != own and not trusted(key, settings.CSRF_TRUSTED_ORIGINS)):
            logger.debug("socket refused: origin %r is not %r nor trusted", origin, own)
            return False
    return True


#: Remembered answers of origin_allowed, at most this many (then forgotten all at once).
_DECISIONS_MAX = 512
_decisions: dict[tuple[Any, ...], bool] = {}


@functools.cache
def _inputs() -> frozenset[bytes]:
    """
    The headers an answer can depend on: Origin, and what Django's get_host() and scheme read.
    """
    names = {b"origin", b"host", b"x-forwarded-host", b"x-forwarded-port"}
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if proxy:
        names.add(proxy[0].removeprefix("HTTP_").replace("_", "-").lower().encode("latin1"))
    return frozenset(names)


@receiver(setting_changed)
def _forget(**kwargs: Any) -> None:
    # Settings change only in tests (override_settings); an answer may depend on any of them.
    _decisions.clear()
    _inputs.cache_clear()


async def refuse_handshake(receive: Any, send: Any) -> None:
    """
    Refuse a handshake whose Origin is not admitted: HTTP 403, before the handshake completes.
    """
    # A close before accept() is a refused upgrade: Hypercorn answers HTTP 403.
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.close"})
