"""
/metrics of a real server: every inkroom_* metric is exported, and drawing moves the counters.
"""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from rest_framework.authtoken.models import Token

from tests.support import servers
from tests.support.servers import ServerProcess
from tests.support.wsclient import BoardClient, token_header

pytestmark = servers.REAL_SERVER_MARKS


#: Every metric realtime.metrics defines (family names, without _total/_bucket suffixes).
FAMILIES = {
    "inkroom_connections": "gauge",
    "inkroom_boards_active": "gauge",
    "inkroom_ops_in": "counter",
    "inkroom_ops_out": "counter",
    "inkroom_frames_in": "counter",
    "inkroom_frames_out": "counter",
    "inkroom_batch_size": "histogram",
    "inkroom_fanout_latency_seconds": "histogram",
    "inkroom_send_queue_drops": "counter",
    "inkroom_gaps_detected": "counter",
    "inkroom_resyncs": "counter",
    "inkroom_layer_messages_in": "counter",
    "inkroom_layer_messages_out": "counter",
    "inkroom_layer_drops": "counter",
    "inkroom_db_latency_seconds": "histogram",
    "inkroom_layer_latency_seconds": "histogram",
    "inkroom_rejected_ops": "counter",
    "inkroom_draining": "gauge",
}


def scrape(server: ServerProcess) -> dict[str, float]:
    """
    Return {sample name: value} of the server's unlabelled samples, plus TYPE per family.
    """
    status, body = server.get("/metrics")
    assert status == 200
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(body.decode()):
        samples[f"TYPE {family.name}"] = 0.0
        samples[f"TYPE {family.name} {family.type}"] = 0.0
        for sample in family.samples:
            if not sample.labels:
                samples[sample.name] = sample.value
    return samples


def test_metrics_exports_every_family(start_inkroom: Any) -> None:
    samples = scrape(start_inkroom())
    missing = [f"{n} {t}" for n, t in FAMILIES.items() if f"TYPE {n} {t}" not in samples]
    assert not missing, f"not exported: {missing}"


def test_metrics_count_a_draw(start_inkroom: Any, board: Any, user: Any) -> None:
    server = start_inkroom()
    headers = token_header(Token.objects.create(user=user).key)
    before = scrape(server)
    strokes, points, chunk = 3, 7, 3  # each stroke: one add + two app ops

    async def draw() -> BoardClient:
        client = BoardClient(server.ws_url(f"/ws/boards/{board.id}/"), headers=headers)
        await client.connect()
        for n in range(strokes):
            await client.draw_stroke(points=points, chunk=chunk, x=n * 10)
        await client.wait_acked()
        await client.wait_seq(max(client.acked.values()))
        return client

    async def run() -> tuple[BoardClient, dict[str, float], int]:
        client = await draw()
        during = await asyncio.to_thread(scrape, server)
        # The layer round trip of /readyz shares the hub's receive loop on the same layer.
        ready = (await asyncio.to_thread(server.get, "/readyz"))[0]
        await client.close()
        return client, during, ready

    client, during, ready = asyncio.run(run())
    assert ready == 200
    ops = len(client.acked)
    assert ops == strokes * 3
    assert during["inkroom_connections"] == 1
    assert during["inkroom_boards_active"] == 1

    def delta(name: str) -> float:
        return during[name] - before.get(name, 0.0)

    assert delta("inkroom_ops_in_total") >= ops
    assert delta("inkroom_frames_in_total") >= ops  # one frame per op, as sent
    assert delta("inkroom_ops_out_total") >= ops  # the author receives its own ops
    # Every kind counts: hello, snap and synced went out before the first op's tick flushed.
    assert delta("inkroom_frames_out_total") >= 3
    assert delta("inkroom_batch_size_sum") == ops
    assert 1 <= delta("inkroom_batch_size_count") <= ops
    assert delta("inkroom_fanout_latency_seconds_count") >= 1
    assert delta("inkroom_db_latency_seconds_count") >= 1
