"""
/metrics is for scrapers only (issue 15, finding 9): on METRICS_PORT when it is set, otherwise to
loopback (METRICS_ALLOWED_NETWORKS) clients that did not come through a proxy; a 404 for anyone
else, whatever the Host. The probes stay open to the kubelet.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.test import Client

from realtime.server.gate import DrainGate
from tests.support import servers
from tests.support.servers import free_port


async def _app(scope: Any, receive: Any, send: Any) -> None:
    # Stands for Django behind the gate: any request that reaches it answers 299.
    await send({"type": "http.response.start", "status": 299, "headers": []})
    await send({"type": "http.response.body", "body": b"app"})


def gate_get(
    path: str, *, client: str, port: int = 8000, headers: list[tuple[bytes, bytes]] | None = None
) -> tuple[int, bytes]:
    """
    Send one GET through realtime.server.gate's DrainGate; return (status, body).
    """
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "headers": [(b"host", b"inkroom.example.com"), *(headers or [])],
        "client": (client, 40000),
        "server": ("10.0.0.5", port),
    }
    asyncio.run(DrainGate(_app)(scope, receive, send))  # type: ignore[arg-type]
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body


def test_metrics_answer_loopback_only_by_default() -> None:
    status, body = gate_get("/metrics", client="127.0.0.1")
    assert status == 200 and b"inkroom_" in body
    assert gate_get("/metrics", client="::1")[0] == 200
    # Anyone else, and anything that came through a proxy (a local nginx, the Ingress): 404.
    assert gate_get("/metrics", client="203.0.113.9")[0] == 404
    assert gate_get("/metrics", client="10.1.2.3")[0] == 404
    forwarded = [(b"x-forwarded-for", b"203.0.113.9")]
    assert gate_get("/metrics", client="127.0.0.1", headers=forwarded)[0] == 404
    # The probes stay open: the kubelet calls them on the pod's address.
    assert gate_get("/healthz", client="10.1.2.3")[0] == 200


def test_metrics_allowed_networks_are_configurable(settings: Any) -> None:
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert gate_get("/metrics", client="10.1.2.3")[0] == 200
    assert gate_get("/metrics", client="127.0.0.1")[0] == 404


def test_with_a_metrics_port_metrics_are_served_there_only(settings: Any) -> None:
    settings.METRICS_PORT = 9100
    assert gate_get("/metrics", client="203.0.113.9", port=9100)[0] == 200
    assert gate_get("/healthz", client="203.0.113.9", port=9100)[0] == 200
    assert gate_get("/metrics", client="127.0.0.1", port=8000)[0] == 404
    # The metrics listener serves nothing of the app.
    assert gate_get("/api/v1/boards/", client="127.0.0.1", port=9100)[0] == 404
    assert gate_get("/api/v1/boards/", client="127.0.0.1", port=8000)[0] == 299


@pytest.mark.django_db
def test_the_django_route_refuses_other_clients_too() -> None:
    assert Client(REMOTE_ADDR="203.0.113.9").get("/metrics").status_code == 404
    assert Client(HTTP_X_FORWARDED_FOR="203.0.113.9").get("/metrics").status_code == 404
    assert Client().get("/metrics").status_code == 200


@pytest.mark.multiprocess
@pytest.mark.requires_postgres
@pytest.mark.requires_redis
@pytest.mark.django_db(transaction=True)
def test_a_server_with_metrics_port_listens_there(start_inkroom: Any) -> None:
    metrics_port = free_port()
    server = start_inkroom(METRICS_PORT=str(metrics_port))
    assert server.get("/metrics")[0] == 404
    assert server.get("/healthz")[0] == 200
    scraper = servers.ServerProcess(
        port=metrics_port, process=server.process, log_path=server.log_path, env=server.env
    )
    status, body = scraper.get("/metrics")
    assert status == 200 and b"inkroom_" in body
    assert scraper.get("/readyz")[0] == 200
    assert scraper.get("/login/")[0] == 404
