"""
Prometheus metrics of one Inkroom process, all registered in prometheus_client's default registry.

Every name carries the `inkroom_` prefix; counters get `_total` from prometheus_client. The hub, the
consumer and the layer adapters import these objects and update them; `/metrics`
(realtime.server.views) renders the registry. Updating a metric is a dict lookup and a lock-free add
in CPython, cheap enough for once per tick or once per frame, but not once per op per recipient:
count deliveries per batch (`OPS_OUT.inc(len(entries) * len(sockets))`).

Each process exports its own numbers; Prometheus sums across pods. We do not use the
multiprocess mode of prometheus_client because an Inkroom pod is one process.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

#: Buckets for latencies on the hot path (seconds): a 20 ms tick sits in the middle.
LATENCY_BUCKETS_SECS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.02,
    0.035,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)
#: Buckets for ops per committed tick: 1 (one stroke point) up to a large paste.
BATCH_SIZE_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)

CONNECTIONS = Gauge("inkroom_connections", "Open board WebSockets in this process.")
BOARDS_ACTIVE = Gauge("inkroom_boards_active", "Boards with at least one socket in this process.")

OPS_IN = Counter("inkroom_ops_in", "Ops received from sockets (before validation).")
OPS_OUT = Counter(
    "inkroom_ops_out", "Op deliveries to sockets (ops in a frame times its recipients)."
)
FRAMES_IN = Counter("inkroom_frames_in", "WebSocket frames received from clients.")
FRAMES_OUT = Counter(
    "inkroom_frames_out", "WebSocket frames written to clients (every kind; flushed per tick)."
)

BATCH_SIZE = Histogram(
    "inkroom_batch_size", "Ops stored per committed tick (all boards).", buckets=BATCH_SIZE_BUCKETS
)
FANOUT_LATENCY = Histogram(
    "inkroom_fanout_latency_seconds",
    "From commit of a batch to its frame being queued on every local socket.",
    buckets=LATENCY_BUCKETS_SECS,
)

SEND_QUEUE_DROPS = Counter(
    "inkroom_send_queue_drops", "Sockets closed with 4008 because their send queue overflowed."
)
GAPS_DETECTED = Counter(
    "inkroom_gaps_detected", "Seq gaps seen on live delivery between processes."
)
DOUBTED_REFUSALS = Counter(
    "inkroom_doubted_refusals",
    "Ops answered `unavailable` instead of `invalid_op`: the state that refused them lacked ops "
    "the log had (it is reloaded and the client resends).",
)
RESYNCS = Counter("inkroom_resyncs", "Catch-ups served (resync requests and reconnects).")

LAYER_MESSAGES_IN = Counter("inkroom_layer_messages_in", "Channel-layer messages received.")
LAYER_MESSAGES_OUT = Counter("inkroom_layer_messages_out", "Channel-layer messages sent.")
LAYER_DROPS = Counter(
    "inkroom_layer_drops", "Channel-layer messages known lost (send failed or seq gap)."
)

DB_LATENCY = Histogram(
    "inkroom_db_latency_seconds",
    "Duration of the hub's database calls (append transaction, catch-up reads).",
    buckets=LATENCY_BUCKETS_SECS,
)
LAYER_LATENCY = Histogram(
    "inkroom_layer_latency_seconds",
    "Duration of channel-layer sends.",
    buckets=LATENCY_BUCKETS_SECS,
)

REJECTED_OPS = Counter(
    "inkroom_rejected_ops", "Ops refused, by error code (protocol.md §6).", ["code"]
)

DRAINING = Gauge("inkroom_draining", "1 while the process drains for shutdown, else 0.")
