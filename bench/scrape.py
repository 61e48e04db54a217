"""
Inkroom's own view of a run: its Prometheus histograms (database, channel layer, fan-out, batch
size) scraped from /metrics before and after the window and reduced to means and p99s.

They say where a delivery's latency goes inside the server (e.g. waiting on the commit), which a
CPU profile cannot: a thread blocked on PostgreSQL costs latency but no CPU.
"""

from __future__ import annotations

import urllib.request
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

#: Histograms worth reporting per run (prefix of the metric family names).
HISTOGRAMS = (
    "inkroom_db_latency_seconds",
    "inkroom_layer_latency_seconds",
    "inkroom_fanout_latency_seconds",
    "inkroom_batch_size",
)
COUNTERS = (
    "inkroom_send_queue_drops",
    "inkroom_layer_drops",
    "inkroom_gaps_detected",
    "inkroom_layer_messages_out",
    "inkroom_layer_messages_in",
)
SCRAPE_TIMEOUT_SECS = 5.0

Snapshot = dict[str, dict[str, float]]


def scrape(ports: list[int]) -> Snapshot:
    """
    Return {metric: {le-or-field: value}} summed over every process; {} if unavailable.
    """
    out: Snapshot = {}
    for port in ports:
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/metrics", timeout=SCRAPE_TIMEOUT_SECS
            ) as resp:
                text = resp.read().decode()
        except OSError:
            continue
        for family in text_string_to_metric_families(text):
            if not family.name.startswith(HISTOGRAMS + COUNTERS):
                continue
            for sample in family.samples:
                if sample.name.endswith("_created"):
                    continue
                key = sample.labels.get("le") or sample.name.rsplit("_", 1)[-1]
                bucket = out.setdefault(family.name, {})
                bucket[key] = bucket.get(key, 0.0) + sample.value
    return out


def delta(before: Snapshot, after: Snapshot) -> dict[str, Any]:
    """
    Reduce two scrapes to per-run means, p99 upper bounds (bucket edges) and counter deltas.
    """
    out: dict[str, Any] = {}
    for name, now in after.items():
        then = before.get(name, {})
        diff = {k: v - then.get(k, 0.0) for k, v in now.items()}
        if name.startswith(COUNTERS):
            out[name] = diff.get("total", sum(diff.values()))
            continue
        count = diff.get("count", 0.0)
        if not count:
            continue
        edges = sorted(
            (float(k), v) for k, v in diff.items() if k not in ("count", "sum", "created")
        )
        p99 = next((edge for edge, n in edges if n >= 0.99 * count), float("inf"))
        scale = 1000 if name.endswith("_seconds") else 1
        unit = "_ms" if scale == 1000 else ""
        out[name.removesuffix("_seconds")] = {
            "count": int(count),
            f"mean{unit}": round(scale * diff.get("sum", 0.0) / count, 2),
            f"p99_le{unit}": round(scale * p99, 2) if p99 != float("inf") else None,
        }
    return out
