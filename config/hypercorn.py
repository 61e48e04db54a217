"""
Hypercorn settings for `hypercorn --config python:config.hypercorn config.asgi:application`.

For people who start the hypercorn CLI themselves; the Procfile, the container and `make run` use
`python -m realtime.serve`. The values come from realtime.serve.hypercorn_settings(), so both
entry points agree on binding (BIND or HOST:PORT), pings, the 1 MiB frame cap, the
backlog, the access log, permessage-deflate (refused), ping tasks that end on close, the direct
send/receive paths and the garbage collector's thresholds.
`workers = 0` keeps Hypercorn in this process, where those patches are installed.

BUG: only `python -m realtime.serve` drains with close code 1012 on SIGTERM. Started through the
hypercorn CLI, Hypercorn closes the listeners, waits `graceful_timeout` and cuts the remaining
sockets (clients see 1006 and reconnect after their backoff), and ops still waiting for the next
tick are lost unacked (clients resend them). That is why the Procfile uses realtime.serve.
"""

from __future__ import annotations

from realtime.hypercorn_patches import install_hypercorn_patches as _patch
from realtime.serve import hypercorn_settings as _settings
from realtime.serve import tune_garbage_collector as _tune_gc

_patch()
_tune_gc()
# Hypercorn's Config.from_object copies every public module attribute; publish exactly these.
globals().update(_settings())
del _settings, _patch, _tune_gc
