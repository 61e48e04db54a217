"""
The manifests' share of issue 15, finding 9: /metrics on a port of its own that neither the
Service nor the Ingress reaches, HSTS in production only, and the proxy hop the throttles trust.
"""

from __future__ import annotations

from typing import Any

from tests.k8s.manifests import find, one, render


def _web(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return one(objects, "Deployment", "inkroom-web")


def _config(objects: list[dict[str, Any]]) -> dict[str, str]:
    data: dict[str, str] = one(objects, "ConfigMap", "inkroom-config")["data"]
    return data


def test_metrics_have_their_own_port_that_nothing_routes_to(objects: list[dict[str, Any]]) -> None:
    web = _web(objects)
    container = next(c for c in web["spec"]["template"]["spec"]["containers"] if c["name"] == "web")
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    metrics_port = int(_config(objects)["METRICS_PORT"])
    assert ports["metrics"] == metrics_port != ports["http"]
    annotations = web["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(metrics_port)
    assert annotations["prometheus.io/path"] == "/metrics"
    # No Service exposes the metrics port, so no Ingress backend can name it.
    for service in find(objects, "Service"):
        for port in service["spec"]["ports"]:
            assert port.get("targetPort") not in ("metrics", metrics_port), service["metadata"]
    service_ports = {
        p["name"]: p["targetPort"] for p in one(objects, "Service", "inkroom-web")["spec"]["ports"]
    }
    for ingress in find(objects, "Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["name"] == "inkroom-web"
                assert service_ports[backend["port"]["name"]] == "http"


def test_the_throttles_trust_the_ingress_hop(objects: list[dict[str, Any]]) -> None:
    assert _config(objects)["TRUSTED_PROXY_COUNT"] == "1"


def test_hsts_is_set_in_production_only() -> None:
    prod = _config(render("prod"))
    assert int(prod["SECURE_HSTS_SECONDS"]) >= 31536000
    assert prod["SECURE_HSTS_INCLUDE_SUBDOMAINS"] == "1"
    # The dev overlay serves plain HTTP: HSTS there would lock browsers out of it.
    assert int(_config(render("dev")).get("SECURE_HSTS_SECONDS", "0")) == 0
