"""
Running one Inkroom process: Hypercorn on uvloop with an explicit, graceful shutdown.

`python -m realtime.server.serve` is what `make run`, the container, the local cluster, the
benchmark and the multi-process tests start. It binds BIND (e.g. "0.0.0.0:8000", comma-separated for
several) or HOST:PORT (default 127.0.0.1:8000) and serves config.asgi.application; with METRICS_PORT
set it also listens on HOST:METRICS_PORT, which answers only the probes and /metrics.

Why not plain `hypercorn config.asgi:application`: on SIGTERM Hypercorn stops listening, waits
`graceful_timeout` for connections to end by themselves, then cancels them, so WebSocket clients see
the TCP connection vanish (1006) instead of 1012, and the app is never asked to flush the ops it has
not committed yet. Here the signal sets the process's draining flag (realtime.engine.drain: /readyz
503, new sockets refused with 1012, frames no longer read), and the `shutdown_trigger` we pass to
hypercorn.asyncio.serve awaits `get_hub().drain()` (commit and ack pending ops, close every socket
with 1012), waits for running HTTP requests, and only then returns so Hypercorn closes the listeners
and ends. The listeners stay open while draining: HTTP keeps being served until the endpoint is gone
from the Service, and late sockets get an immediate 1012. Everything is bounded by
INKROOM_DRAIN_SECS; a watchdog thread ends the process (exit 1) if it overruns (an overloaded loop
can starve the shutdown path). A second SIGTERM/SIGINT exits at once.

The probes (/healthz, /readyz, /metrics) are answered before Django (see DrainGate), and the
ASGI lifespan is answered here, closing the hub at the end.

The transport choices (deflate off, pings, frame cap, backlog, access log) are made in
`hypercorn_settings()`. This module is the only entry point: the hypercorn CLI would not drain
with 1012.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import resource
import signal
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from hypercorn.config import Config

from config.env import env_bool, env_float, env_int, env_str
from realtime.engine.drain import PROCESS_DRAIN, is_draining
from realtime.server.hypercorn_patches import install_hypercorn_patches
from realtime.wire.protocol import CloseCode

logger = logging.getLogger("realtime.server.serve")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Largest WebSocket message the transport accepts (bytes); above it Hypercorn closes with 1009.
#: protocol.md: frames above limits.max_frame_bytes (256 KiB) get a `too_large` error frame, and
#: only abuse beyond 1 MiB is cut at the transport, before the app buffers it.
WS_MAX_MESSAGE_BYTES = 1024 * 1024
#: Server pings keep idle sockets alive through proxies and NATs (nginx/ingress time out idle
#: upstreams, typically after 60 s); 20 s is well under common timeouts. Hypercorn does not wait
#: for pongs, so a vanished peer is only noticed when a ping's write fails (TCP retransmission
#: timeout, minutes), which still bounds how long a dead socket holds memory.
WS_PING_SECS = 20.0
#: Pending TCP connections the kernel queues for us (capped by net.core.somaxconn). Large, because
#: after a pod restart every client of the pod reconnects within a second or two.
LISTEN_BACKLOG = 2048
#: Hypercorn's wait for its connection tasks once we let it stop (seconds). By then the hub has
#: closed every socket and HTTP requests have finished (DrainGate counts them); what is left are
#: idle keep-alive connections and sockets whose peers have not finished the close handshake.
HYPERCORN_GRACE_SECS = 0.1
#: Part of the drain budget kept for stopping Hypercorn, closing the hub (its threads' database
#: connections) and interpreter exit, measured at ~0.4 s (seconds).
EXIT_RESERVE_SECS = 1.0
#: gc.set_threshold: young collections every 10,000 net allocations instead of 700; the middle
#: and old generations are examined every 50 collections of the one below (not 10) — see
#: tune_garbage_collector().
GC_THRESHOLDS = (10_000, 50, 50)
#: Shortest time given to the hub's drain, however small INKROOM_DRAIN_SECS is (seconds).
MIN_DRAIN_SECS = 0.3


def tune_garbage_collector() -> None:
    """
    Keep the cyclic garbage collector's pauses off the hot path (call once, after imports).

    Its full passes walk every tracked object and stall the loop meanwhile, and with Python's
    default thresholds they set a busy process's tail latency (docs/performance.md, "Garbage
    collector"). Django, the app and its imports live as long as the process, so they are frozen
    out of the collector's reach; the higher first threshold lets a tick's short-lived objects
    (decoded ops, frames) die before a collection, so far fewer survive into the older
    generations and trigger full passes.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def bind_addresses() -> list[str]:
    """
    Return the addresses to listen on: BIND (comma-separated) or HOST:PORT, plus
    HOST:METRICS_PORT when METRICS_PORT is set.
    """
    host = env_str("HOST", "127.0.0.1") or "127.0.0.1"
    bind = env_str("BIND")
    if bind:
        addresses = [item.strip() for item in bind.split(",") if item.strip()]
    else:
        addresses = [f"{host}:{env_int('PORT', 8000)}"]
    metrics_port = env_int("METRICS_PORT", 0)
    if metrics_port:
        # A listener of its own, which no Service port or Ingress routes to.
        addresses.append(f"{host}:{metrics_port}")
    return addresses


def hypercorn_settings() -> dict[str, Any]:
    """
    Return Inkroom's Hypercorn settings as a mapping for Config.from_mapping.
    """
    access_log = env_bool("ACCESS_LOG", False)
    return {
        "bind": bind_addresses(),
        "backlog": env_int("BACKLOG", LISTEN_BACKLOG),
        "websocket_ping_interval": env_float("WS_PING_SECS", WS_PING_SECS) or None,
        "websocket_max_message_size": WS_MAX_MESSAGE_BYTES,
        # Off by default: one line per request and per socket is noise at 10k sockets. When on,
        # records go to the "hypercorn.access" logger (settings: ACCESS_LOG_LEVEL=INFO).
        "accesslog": logging.getLogger("hypercorn.access") if access_log else None,
        "errorlog": logging.getLogger("hypercorn.error"),
        "graceful_timeout": HYPERCORN_GRACE_SECS,
        "shutdown_timeout": EXIT_RESERVE_SECS,
        "worker_class": "uvloop",
        # One process per pod (scale with pods, not workers): keeps the hub, its batching and
        # its metrics per process, and keeps refuse_permessage_deflate() in the serving process.
        "workers": 0,
    }


def raise_open_files_limit() -> int:
    """
    Raise RLIMIT_NOFILE's soft limit to the hard limit and return the new soft limit.

    Each socket is a file descriptor; the usual soft default of 1024 would cap a pod near 1000
    clients. Containers usually get a hard limit of 1048576; the pod needs >= 10,000.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as error:
            logger.warning("could not raise the open-files limit to %s: %s", target, error)
    logger.info("open-files limit (RLIMIT_NOFILE) is %s (hard %s)", soft, hard)
    return soft


class DrainGate:
    """
    ASGI wrapper: refuses new WebSockets with 1012 once draining, answers the probes, lifespan.

    Probes (/healthz, /readyz, /metrics) are answered here, before Django, because kubelets and
    Prometheus address a pod by its IP: Django would refuse that Host (ALLOWED_HOSTS, 400) and the
    pod would never become ready. The same paths stay in the URLconf (realtime.server.urls) for
    `hypercorn config.asgi:application`. The lifespan protocol is answered here too, so the inner
    router never sees a scope it has no route for; the hub starts lazily on the first socket and is
    drained by the shutdown trigger. The wrapper is outside the per-message path: each connection
    costs one extra call. /metrics goes only to scrapers (realtime.server.views.may_scrape), and the
    METRICS_PORT listener answers the probes and nothing else.
    """

    def __init__(self, app: ASGIApp) -> None:
        from realtime.server.views import PROBE_PATHS

        self.app = app
        self.probe_paths = PROBE_PATHS
        self.http_in_flight = 0
        self._http_idle = asyncio.Event()
        self._http_idle.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and _on_metrics_port(scope):
            await _metrics_listener(scope, receive, send, self.probe_paths)
        elif scope["type"] == "http" and scope["path"] in self.probe_paths:
            await _probe(scope, send)
        elif scope["type"] == "lifespan":
            await _lifespan(receive, send)
        elif scope["type"] == "websocket" and is_draining():
            await receive()  # websocket.connect
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": CloseCode.SERVICE_RESTART})
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.http_in_flight += 1
        self._http_idle.clear()
        try:
            await self.app(scope, receive, send)
        finally:
            self.http_in_flight -= 1
            if not self.http_in_flight:
                self._http_idle.set()

    async def wait_http_idle(self, timeout_secs: float) -> None:
        """
        Wait until no HTTP request is running (an export, an API write), at most `timeout_secs`.
        """
        try:
            await asyncio.wait_for(self._http_idle.wait(), max(timeout_secs, 0.0))
        except TimeoutError:
            logger.warning("%s HTTP requests still running at shutdown", self.http_in_flight)


def _on_metrics_port(scope: Scope) -> bool:
    from django.conf import settings

    metrics_port: int | None = settings.METRICS_PORT
    server = scope.get("server")
    return bool(metrics_port) and server is not None and server[1] == metrics_port


async def _metrics_listener(
    scope: Scope, receive: Receive, send: Send, probe_paths: frozenset[str]
) -> None:
    """
    The METRICS_PORT listener: the probes and /metrics, nothing of the app.
    """
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.close", "code": 1008})  # refused before the handshake
    elif scope["path"] in probe_paths:
        await _probe(scope, send)
    else:
        await _answer(scope, send, 404, "text/plain; charset=utf-8", b"Not found\n")


async def _probe(scope: Scope, send: Send) -> None:
    from realtime.server.views import NOT_FOUND, probe, scope_may_scrape

    if scope["path"] == "/metrics" and not scope_may_scrape(scope):
        status, content_type, body = NOT_FOUND
    else:
        status, content_type, body = await probe(scope["path"])
    await _answer(scope, send, status, content_type, body)


async def _answer(scope: Scope, send: Send, status: int, content_type: str, body: bytes) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await close_hub()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def close_hub() -> None:
    """
    Stop the hub's tasks, leave the layer group and release its database connections.
    """
    try:
        from realtime.engine.hub import get_hub
    except ImportError:
        return
    try:
        await asyncio.wait_for(get_hub().close(), EXIT_RESERVE_SECS / 2)
    except TimeoutError:
        logger.warning("closing the hub took over %s s; exiting anyway", EXIT_RESERVE_SECS / 2)
    except Exception:
        logger.exception("closing the hub failed")


async def drain_hub(timeout_secs: float) -> None:
    """
    Ask the hub to flush pending ops and close every socket with 1012, within `timeout_secs`.
    """
    try:
        from realtime.engine.hub import get_hub
    except ImportError:
        logger.warning("realtime.engine.hub is not available; nothing to drain")
        return
    started = time.monotonic()
    try:
        await asyncio.wait_for(get_hub().drain(), timeout_secs)
    except TimeoutError:
        logger.error("hub drain overran %s s; remaining sockets will be cut", timeout_secs)
    except Exception:
        logger.exception("hub drain failed; remaining sockets will be cut")
    else:
        logger.info("hub drained in %.3f s", time.monotonic() - started)


def _start_watchdog(limit_secs: float) -> None:
    def expire() -> None:
        logger.error("shutdown overran %s s; exiting now", limit_secs)
        logging.shutdown()
        os._exit(1)

    timer = threading.Timer(limit_secs, expire)
    timer.daemon = True
    timer.start()


def _exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # Python 3.11's asyncio.streams logs "Exception in callback ... CancelledError" for every
    # connection task Hypercorn cancels at the end of its graceful wait (fixed in 3.12): a
    # connection cut at shutdown, not an error.
    if isinstance(context.get("exception"), asyncio.CancelledError):
        logger.debug("cancelled at shutdown: %s", context.get("message"))
        return
    loop.default_exception_handler(context)


async def serve(app: ASGIApp, config: Config, *, drain_secs: float) -> None:
    """
    Serve `app` until SIGTERM/SIGINT, then drain the hub and stop within `drain_secs`.
    """
    from hypercorn.asyncio import serve as hypercorn_serve

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_exception_handler)

    gate = DrainGate(app)

    def on_signal(signum: int) -> None:
        if stop.is_set():
            logger.warning("second %s during drain; exiting now", signal.Signals(signum).name)
            os._exit(1)
        logger.info("received %s; draining (up to %s s)", signal.Signals(signum).name, drain_secs)
        PROCESS_DRAIN.begin()
        _start_watchdog(drain_secs)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)

    async def shutdown_trigger() -> None:
        await stop.wait()
        deadline = loop.time() + drain_secs - EXIT_RESERVE_SECS
        await drain_hub(max(deadline - loop.time(), MIN_DRAIN_SECS))
        await gate.wait_http_idle(deadline - loop.time())
        # Returning lets Hypercorn close the listeners and wait graceful_timeout for connections.

    await hypercorn_serve(gate, config, shutdown_trigger=shutdown_trigger)  # type: ignore[arg-type]
    logger.info("stopped")


def main() -> None:
    """
    Entry point of `python -m realtime.server.serve`.
    """
    import uvloop

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from config.asgi import application
    from realtime.conf import realtime_settings
    from realtime.server.listen import BoundedConfig

    install_hypercorn_patches()
    raise_open_files_limit()
    tune_garbage_collector()
    # hypercorn.asyncio.serve runs in this process whatever `workers` says, and warns unless 1.
    # BoundedConfig caps each socket's kernel send buffer, so a stalled reader gets 4008.
    config = BoundedConfig.from_mapping(hypercorn_settings(), workers=1)
    drain_secs = realtime_settings().drain_secs
    logger.info("serving on %s (drain %s s)", ", ".join(config.bind), drain_secs)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve(application, config, drain_secs=drain_secs))


if __name__ == "__main__":
    main()
