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

In front of the app, realtime.server.gate answers the probes (/healthz, /readyz, /metrics) before
Django and the ASGI lifespan (closing the hub at the end); realtime.server.shutdown drains and
closes the hub; realtime.server.tuning sets the garbage collector and the open-files limit.

The transport choices (deflate off, pings, frame cap, backlog, access log) are made in
`hypercorn_settings()`. This module is the only entry point: the hypercorn CLI would not drain
with 1012.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import Any

from hypercorn.config import Config

from config.env import env_bool, env_float, env_int, env_str
from realtime.engine.drain import PROCESS_DRAIN
from realtime.server.gate import ASGIApp, DrainGate
from realtime.server.hypercorn_patches import install_hypercorn_patches
from realtime.server.shutdown import EXIT_RESERVE_SECS, MIN_DRAIN_SECS, drain_hub, start_watchdog
from realtime.server.tuning import raise_open_files_limit, tune_garbage_collector

logger = logging.getLogger("realtime.server.serve")

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
        start_watchdog(drain_secs)
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
