"""
Process probes for the orchestrator and the scraper: /healthz, /readyz and /metrics.

/healthz answers while the event loop runs (liveness: restart me only if this fails). /readyz
answers 200 only when this process can do useful work: the database answers, the channel layer
carries a message to ourselves, and we are not draining for shutdown (readiness: send me
traffic). /metrics renders prometheus_client's default registry in the 0.0.4 text format, to
scrapers only (may_scrape): on METRICS_PORT when it is set, else to clients in
METRICS_ALLOWED_NETWORKS (default loopback) whose request did not pass a proxy; everyone else
gets 404, as if it did not exist.

All three are async views, so a probe never waits for a thread that the hub's batch writer or a
slow API request holds; each external check is bounded by a short timeout.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from realtime import metrics as _metrics  # noqa: F401  (registers the inkroom_* metrics)
from realtime.engine.drain import is_draining

logger = logging.getLogger(__name__)

#: Upper bound of each readiness check (seconds). Kubernetes' default probe timeout is 1 s; a
#: check slower than this is a failure worth reporting, not worth waiting for.
CHECK_TIMEOUT_SECS = 0.8


#: The probe paths, answered by the Django views below and, host-agnostic, by realtime.server.serve.
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
JSON_TYPE = "application/json"
_OK = b'{"status": "ok"}'
#: The answer to a refused scrape: the same as a path that does not exist.
NOT_FOUND = (404, "text/plain; charset=utf-8", b"Not found\n")
#: Request headers a proxy adds; a request carrying one came through a proxy, so its TCP peer
#: (a local nginx, the ingress controller) is not the client.
_PROXY_HEADERS = (b"x-forwarded-for", b"forwarded", b"x-real-ip")


@functools.cache
def _networks(
    allowed: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(net) for net in allowed)


def may_scrape(*, server_port: int | None, client: str | None, proxied: bool) -> bool:
    """
    Whether a request for /metrics gets the metrics.

    `server_port` is the port the request arrived on, `client` the TCP peer's address (never a
    header), `proxied` whether the request carries a proxy's forwarding header.
    """
    metrics_port: int | None = settings.METRICS_PORT
    if metrics_port:
        return server_port == metrics_port
    if proxied or not client:
        return False
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return False  # a Unix socket peer or no address at all
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    allowed: Iterable[str] = settings.METRICS_ALLOWED_NETWORKS
    return any(address in network for network in _networks(tuple(allowed)))


def scope_may_scrape(scope: Mapping[str, Any]) -> bool:
    """
    may_scrape for an ASGI HTTP scope.
    """
    server = scope.get("server")
    client = scope.get("client")
    headers = {bytes(name).lower() for name, _ in scope.get("headers", ())}
    return may_scrape(
        server_port=int(server[1]) if server and server[1] is not None else None,
        client=str(client[0]) if client else None,
        proxied=any(name in headers for name in _PROXY_HEADERS),
    )


def request_may_scrape(request: HttpRequest) -> bool:
    """
    may_scrape for a Django request (the URLconf route, without realtime.server.serve in front).
    """
    port = request.META.get("SERVER_PORT")
    return may_scrape(
        server_port=int(port) if port and str(port).isdigit() else None,
        client=request.META.get("REMOTE_ADDR"),
        proxied=any(
            f"HTTP_{name.decode().upper().replace('-', '_')}" in request.META
            for name in _PROXY_HEADERS
        ),
    )


async def probe(path: str) -> tuple[int, str, bytes]:
    """
    Return (status, content type, body) of a probe path (one of PROBE_PATHS).
    """
    if path == "/healthz":
        return 200, JSON_TYPE, _OK
    if path == "/readyz":
        failed = await readiness_failure()
        if failed is None:
            return 200, JSON_TYPE, _OK
        # `failed` is one of our fixed check names, so formatting it by hand is safe.
        return 503, JSON_TYPE, b'{"status": "unavailable", "failed": "%s"}' % failed.encode()
    if path == "/metrics":
        return 200, CONTENT_TYPE_PLAIN_0_0_4, generate_latest()
    raise ValueError(f"{path!r} is not a probe path; use one of {sorted(PROBE_PATHS)}.")


async def readiness_failure() -> str | None:
    """
    Return None when ready, else the failed checks ("draining", "database", "channel_layer").
    """
    if is_draining():
        return "draining"
    checks: dict[str, Callable[[], Awaitable[None]]] = {
        "database": _check_database,
        "channel_layer": _check_channel_layer,
    }
    results = await asyncio.gather(*(_bounded(name, fn) for name, fn in checks.items()))
    failed = [name for name, ok in zip(checks, results, strict=True) if not ok]
    return ", ".join(failed) or None


async def _respond(path: str) -> HttpResponse:
    status, content_type, body = await probe(path)
    return HttpResponse(body, status=status, content_type=content_type)


async def healthz(request: HttpRequest) -> HttpResponse:
    """
    Liveness: 200 while the process serves requests.
    """
    return await _respond("/healthz")


async def readyz(request: HttpRequest) -> HttpResponse:
    """
    Readiness: 200 when not draining and the database and channel layer answer, else 503.
    """
    return await _respond("/readyz")


async def metrics(request: HttpRequest) -> HttpResponse:
    """
    Prometheus scrape endpoint (text format 0.0.4, which every Prometheus version reads); 404 to
    anyone request_may_scrape refuses.
    """
    if not request_may_scrape(request):
        status, content_type, body = NOT_FOUND
        return HttpResponse(body, status=status, content_type=content_type)
    return await _respond("/metrics")


async def _bounded(name: str, check: Callable[[], Awaitable[None]]) -> bool:
    try:
        await asyncio.wait_for(check(), CHECK_TIMEOUT_SECS)
    except asyncio.CancelledError:
        raise
    except TimeoutError:
        logger.warning("readiness check %s timed out after %s s", name, CHECK_TIMEOUT_SECS)
        return False
    except Exception as error:
        logger.warning("readiness check %s failed: %r", name, error)
        return False
    return True


def _select_one() -> None:
    # A fresh connection per probe, closed at once: the probe proves the database accepts
    # connections now, and leaves no connection behind in a worker thread that nobody cleans up.
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()


async def _check_database() -> None:
    # thread_sensitive=False: the probe must not queue behind the shared sync thread.
    await sync_to_async(_select_one, thread_sensitive=False)()


async def _check_channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    # The default "specific" prefix on purpose: channels_redis serves every process-local channel
    # of that prefix from one BZPOPMIN, which the hub's receive loop already holds. A channel of
    # another prefix ("readyz.") needs that same receive lock for its own list and waits until
    # the hub's blocking pop gives it up, i.e. never while the hub is running.
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "readyz.ping"})
    message = await layer.receive(channel)
    if message.get("type") != "readyz.ping":
        raise RuntimeError(f"channel layer returned {message!r}")
