"""
The local cluster's nginx (scripts/cluster/nginx.conf.tmpl) stands in for the Ingress: the same
WebSocket timeouts, body limit, retry policy and board-id hashing key.
"""

from __future__ import annotations

import re
from typing import Any

from tests.k8s.manifests import REPO, one, render

PREFIX = "nginx.ingress.kubernetes.io/"


def _template() -> str:
    return (REPO / "scripts" / "cluster" / "nginx.conf.tmpl").read_text()


def _directive(name: str) -> str:
    found = re.findall(rf"^\s*{name}\s+([^;]+);", _template(), re.MULTILINE)
    assert len(found) == 1, f"expected one {name} in the template, found {found}"
    return found[0].strip()


def _annotations() -> dict[str, Any]:
    ingress = one(render("prod"), "Ingress", "inkroom")
    return dict(ingress["metadata"]["annotations"])


def test_timeouts_match_the_ingress() -> None:
    notes = _annotations()
    for directive, annotation in (
        ("proxy_read_timeout", "proxy-read-timeout"),
        ("proxy_send_timeout", "proxy-send-timeout"),
        ("proxy_connect_timeout", "proxy-connect-timeout"),
    ):
        assert _directive(directive) == f"{notes[PREFIX + annotation]}s", directive


def test_body_limit_retries_and_buffering_match_the_ingress() -> None:
    notes = _annotations()
    assert _directive("client_max_body_size") == notes[PREFIX + "proxy-body-size"]
    assert _directive("proxy_next_upstream") == notes[PREFIX + "proxy-next-upstream"]
    assert _directive("proxy_next_upstream_tries") == notes[PREFIX + "proxy-next-upstream-tries"]
    assert _directive("proxy_buffering") == notes[PREFIX + "proxy-buffering"]


def test_websocket_upgrade_headers_are_forwarded() -> None:
    template = _template()
    assert "proxy_http_version 1.1;" in template
    assert "proxy_set_header Upgrade $http_upgrade;" in template
    assert "proxy_set_header Connection $connection_upgrade;" in template


def test_hash_key_is_the_board_id_from_the_path_like_the_ingress() -> None:
    # The Ingress hashes $uri (path without query); the local map narrows it to the id itself.
    assert _annotations()[PREFIX + "upstream-hash-by"] == "$uri"
    assert re.search(r'map \$uri \$board_key \{\s*"~\^/ws/boards/\(\?<bid>', _template())


def test_the_host_header_keeps_the_port_the_browser_used() -> None:
    # Origin checks (sockets and CSRF) compare scheme, host and port with the request's Host:
    # `$host` drops the port, and a browser on http://127.0.0.1:18330 was then refused.
    headers = re.findall(r"^\s*proxy_set_header\s+Host\s+(\S+);", _template(), re.MULTILINE)
    assert headers == ["$http_host"]
