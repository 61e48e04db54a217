"""
The kustomize overlays render, validate against the Kubernetes schema offline, and keep the
operational policies the realtime tier depends on (probes, draining, limits, hardening).
"""

from __future__ import annotations

import configparser
import copy
import re
from typing import Any

import kubernetes_validate
import pytest

from tests.k8s.manifests import K8S_VERSION, find, one, pod_specs, render

PRESTOP_SLEEP_SECS = 5


def _validate(obj: dict[str, Any]) -> None:
    # strict: unknown fields (typos such as `readinesProbe`) are errors, not silently dropped.
    kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_every_object_validates_against_the_schema(objects: list[dict[str, Any]]) -> None:
    assert objects
    for obj in objects:
        try:
            _validate(obj)
        except kubernetes_validate.SchemaNotFoundError as exc:
            pytest.fail(f"no schema for {obj['kind']} {obj['apiVersion']}: {exc.message}")
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(p) for p in exc.path)
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']} {where}: {exc.message}")


def test_the_validator_rejects_a_broken_deployment() -> None:
    web = copy.deepcopy(one(render("dev"), "Deployment", "inkroom-web"))
    web["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate(web)
    web = copy.deepcopy(one(render("dev"), "Deployment", "inkroom-web"))
    web["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate(web)


def _web(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return one(objects, "Deployment", "inkroom-web")


def _web_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    containers = _web(objects)["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == "web")


def test_web_runs_at_least_two_replicas_and_rolls_without_losing_capacity(
    objects: list[dict[str, Any]],
) -> None:
    spec = _web(objects)["spec"]
    assert spec["replicas"] >= 2
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_web_probes(objects: list[dict[str, Any]]) -> None:
    web = _web_container(objects)
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["startupProbe"]["httpGet"]["path"] == "/healthz"
    # Liveness must be more patient than readiness: a slow database makes a pod unready,
    # never restarts it.
    live, ready = web["livenessProbe"], web["readinessProbe"]
    assert (
        live["periodSeconds"] * live["failureThreshold"]
        > ready["periodSeconds"] * ready["failureThreshold"]
    )
    ports = {p["name"]: p["containerPort"] for p in web["ports"]}
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert web[probe]["httpGet"]["port"] in ports


def _drain_secs(objects: list[dict[str, Any]]) -> float:
    return float(one(objects, "ConfigMap", "inkroom-config")["data"]["INKROOM_DRAIN_SECS"])


def test_prestop_and_grace_period_cover_draining(objects: list[dict[str, Any]]) -> None:
    pod = _web(objects)["spec"]["template"]["spec"]
    web = _web_container(objects)
    assert web["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", str(PRESTOP_SLEEP_SECS)]
    assert pod["terminationGracePeriodSeconds"] > PRESTOP_SLEEP_SECS + _drain_secs(objects)


def test_every_container_has_requests_and_limits(objects: list[dict[str, Any]]) -> None:
    for name, spec in pod_specs(objects):
        for container in spec["containers"] + spec.get("initContainers", []):
            res = container.get("resources", {})
            for part in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(res.get(part, {})), f"{name} {part}"


def test_every_container_is_hardened(objects: list[dict[str, Any]]) -> None:
    for name, spec in pod_specs(objects):
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec.get("automountServiceAccountToken") is False, name
        for container in spec["containers"]:
            ctx = container["securityContext"]
            assert ctx["allowPrivilegeEscalation"] is False, name
            assert ctx["readOnlyRootFilesystem"] is True, name
            assert ctx["capabilities"]["drop"] == ["ALL"], name
            assert ctx["seccompProfile"]["type"] == "RuntimeDefault", name
            assert "add" not in ctx["capabilities"], name


def test_web_has_a_writable_tmp_and_spreads_over_nodes(objects: list[dict[str, Any]]) -> None:
    pod = _web(objects)["spec"]["template"]["spec"]
    mounts = {m["mountPath"]: m["name"] for m in _web_container(objects)["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    keys = {c["topologyKey"] for c in pod["topologySpreadConstraints"]}
    assert {"kubernetes.io/hostname", "topology.kubernetes.io/zone"} <= keys
    labels = _web(objects)["spec"]["template"]["metadata"]["labels"]
    for constraint in pod["topologySpreadConstraints"]:
        assert constraint["labelSelector"]["matchLabels"].items() <= labels.items()


def test_web_reads_config_and_secret_that_exist(objects: list[dict[str, Any]]) -> None:
    env_from = _web_container(objects)["envFrom"]
    config = next(e["configMapRef"]["name"] for e in env_from if "configMapRef" in e)
    secret = next(e["secretRef"]["name"] for e in env_from if "secretRef" in e)
    one(objects, "ConfigMap", config)
    data = one(objects, "Secret", secret)["stringData"]
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"} <= set(data)
    assert data["DATABASE_URL"].startswith("postgres://")
    assert data["REDIS_URL"].startswith(("redis://", "rediss://"))


def test_images_are_pinned(objects: list[dict[str, Any]]) -> None:
    for name, spec in pod_specs(objects):
        for container in spec["containers"]:
            image = container["image"]
            assert ":" in image.rsplit("/", 1)[-1] or "@sha256:" in image, f"{name}: {image}"
            assert not image.endswith(":latest"), f"{name}: {image}"


def test_service_selects_the_web_pods(objects: list[dict[str, Any]]) -> None:
    service = one(objects, "Service", "inkroom-web")
    labels = _web(objects)["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    ports = {p["name"] for p in _web_container(objects)["ports"]}
    assert all(p["targetPort"] in ports for p in service["spec"]["ports"])


def test_pdb_lets_one_web_pod_go_at_a_time(objects: list[dict[str, Any]]) -> None:
    pdb = one(objects, "PodDisruptionBudget", "inkroom-web")["spec"]
    labels = _web(objects)["spec"]["template"]["metadata"]["labels"]
    assert pdb["selector"]["matchLabels"].items() <= labels.items()
    assert pdb.get("maxUnavailable") == 1 or pdb.get("minAvailable", 0) >= 1


def test_hpa_bounds(objects: list[dict[str, Any]], overlay: str) -> None:
    hpa = one(objects, "HorizontalPodAutoscaler", "inkroom-web")["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "inkroom-web",
    }
    assert 2 <= hpa["minReplicas"] < hpa["maxReplicas"]
    assert hpa["minReplicas"] <= _web(objects)["spec"]["replicas"] <= hpa["maxReplicas"]
    if overlay == "prod":
        assert hpa["minReplicas"] >= 3 and hpa["maxReplicas"] >= 20
    # Scale-down moves sockets: it must be slower than scale-up.
    behavior = hpa["behavior"]
    assert (
        behavior["scaleDown"]["stabilizationWindowSeconds"]
        > behavior["scaleUp"]["stabilizationWindowSeconds"]
    )


def test_ingress_is_websocket_friendly_and_hashes_the_board(objects: list[dict[str, Any]]) -> None:
    ingress = one(objects, "Ingress", "inkroom")
    notes = ingress["metadata"]["annotations"]
    prefix = "nginx.ingress.kubernetes.io/"
    assert int(notes[prefix + "proxy-read-timeout"]) >= 3600
    assert int(notes[prefix + "proxy-send-timeout"]) >= 3600
    assert notes[prefix + "upstream-hash-by"] == "$uri"
    assert not any("snippet" in key for key in notes)
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "inkroom-web"


def test_migrations_job_runs_migrate(objects: list[dict[str, Any]]) -> None:
    job = one(objects, "Job", "inkroom-migrate")
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert container["image"] == _web_container(objects)["image"]


def test_databases_per_overlay(objects: list[dict[str, Any]], overlay: str) -> None:
    secret = one(objects, "Secret", "inkroom")["stringData"]
    if overlay == "dev":
        one(objects, "StatefulSet", "postgres")
        one(objects, "Service", "postgres")
        one(objects, "Deployment", "redis")
        assert "@postgres:5432/" in secret["DATABASE_URL"]
    else:
        assert not find(objects, "StatefulSet")
        assert not find(objects, "Deployment", "redis")
        assert "sslmode=require" in secret["DATABASE_URL"]
        assert secret["REDIS_URL"].startswith("rediss://")
        # The prod Secret is a template: every credential is an obvious placeholder.
        assert all(re.search("REPLACE-ME", v) for v in secret.values() if "@" in v or "KEY" in v)


#: PostgreSQL's default max_connections (the dev StatefulSet keeps it) and the smallest managed
#: instance the prod overlay is sized for (docs/operations.md, "Database connections").
MAX_CONNECTIONS = 100
#: superuser_reserved_connections plus a few for operators, monitoring and a psql session.
ADMIN_HEADROOM = 3 + 7


def _pods_at_most(objects: list[dict[str, Any]], name: str) -> int:
    # A rollout runs maxSurge pods on top of the HPA's maximum.
    spec = one(objects, "Deployment", name)["spec"]
    surge = int(spec["strategy"]["rollingUpdate"]["maxSurge"])
    hpas = find(objects, "HorizontalPodAutoscaler", name)
    return (hpas[0]["spec"]["maxReplicas"] if hpas else spec["replicas"]) + surge


def _database_clients(objects: list[dict[str, Any]]) -> int:
    """
    Connections Inkroom may open at once: every web pod's whole pool and the migrations Job's.
    """
    config = one(objects, "ConfigMap", "inkroom-config")["data"]
    assert "DB_CONN_MAX_AGE" not in config, "settings refuse it: connections come from the pool"
    pool_max = int(config["DB_POOL_MAX_SIZE"])
    return (_pods_at_most(objects, "inkroom-web") + 1) * pool_max


def _pgbouncer_ini(objects: list[dict[str, Any]]) -> configparser.ConfigParser:
    ini = configparser.ConfigParser(interpolation=None)
    ini.read_string(one(objects, "ConfigMap", "pgbouncer-config")["data"]["pgbouncer.ini"])
    return ini


def test_database_connections_fit(objects: list[dict[str, Any]], overlay: str) -> None:
    clients = _database_clients(objects)
    database_url = one(objects, "Secret", "inkroom")["stringData"]["DATABASE_URL"]
    if overlay == "dev":
        # Straight to PostgreSQL: every pool must fit in its max_connections.
        assert "@postgres:5432/" in database_url
        args = " ".join(
            " ".join(c.get("args", []) + c.get("command", []))
            for c in one(objects, "StatefulSet", "postgres")["spec"]["template"]["spec"][
                "containers"
            ]
        )
        assert "max_connections" not in args, "update MAX_CONNECTIONS with the StatefulSet"
        assert clients + ADMIN_HEADROOM <= MAX_CONNECTIONS
        return
    # Prod: the pools would not fit, so they go through PgBouncer in transaction mode, which
    # takes them all as clients and keeps its own server connections within the budget.
    assert clients + ADMIN_HEADROOM > MAX_CONNECTIONS, "PgBouncer may no longer be needed"
    service = one(objects, "Service", "pgbouncer")
    port = service["spec"]["ports"][0]["port"]
    assert f"@pgbouncer:{port}/" in database_url
    ini = _pgbouncer_ini(objects)["pgbouncer"]
    assert ini["pool_mode"] == "transaction"
    assert int(ini["listen_port"]) == port
    assert int(ini["max_client_conn"]) >= clients + ADMIN_HEADROOM
    server_side = _pods_at_most(objects, "pgbouncer") * int(ini["max_db_connections"])
    assert server_side + ADMIN_HEADROOM <= MAX_CONNECTIONS
    assert int(ini["default_pool_size"]) + int(ini["reserve_pool_size"]) <= int(
        ini["max_db_connections"]
    )


def test_pgbouncer_keeps_tls_and_finds_its_files(
    objects: list[dict[str, Any]], overlay: str
) -> None:
    if overlay != "prod":
        assert not find(objects, "Deployment", "pgbouncer")
        return
    ini = _pgbouncer_ini(objects)["pgbouncer"]
    # Both hops encrypted, as DATABASE_URL's sslmode=require asks of the first.
    assert ini["client_tls_sslmode"] in ("require", "verify-ca", "verify-full")
    assert ini["server_tls_sslmode"] in ("require", "verify-ca", "verify-full")
    pod = one(objects, "Deployment", "pgbouncer")["spec"]["template"]["spec"]
    (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "config"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "config"]
    files = {
        f"{mount['mountPath']}/{item['path']}"
        for source in volume["projected"]["sources"]
        for kind in source.values()
        for item in kind["items"]
    }
    assert f"{mount['mountPath']}/pgbouncer.ini" in files
    for key in ("auth_file", "client_tls_cert_file", "client_tls_key_file"):
        assert ini[key] in files, f"{key} = {ini[key]} is not mounted"
    # A template like the inkroom Secret: the real password comes from the secret manager.
    userlist = one(objects, "Secret", "pgbouncer-auth")["stringData"]["userlist.txt"]
    assert "REPLACE-ME" in userlist
