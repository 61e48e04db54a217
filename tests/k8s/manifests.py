"""
Rendered Kubernetes manifests: `kubectl kustomize k8s/overlays/<name>` parsed into dicts, and
lookups by kind and name. The `overlay` and `objects` fixtures are in tests/k8s/conftest.py.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
OVERLAYS = ("dev", "prod")
#: Recent Kubernetes minor the schemas are checked against (kubernetes-validate ships them).
K8S_VERSION = "1.32.0"


def render(overlay: str) -> list[dict[str, Any]]:
    """
    Return every object `kubectl kustomize` renders for the overlay.
    """
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed (needed to render the kustomize overlays)")
    done = subprocess.run(
        [kubectl, "kustomize", str(REPO / "k8s" / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"kubectl kustomize {overlay} failed:\n{done.stderr}"
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    """
    Return the objects of `kind` (and `name`, if given).
    """
    return [
        o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """
    Return the single object of `kind` named `name`, failing clearly when it is not unique.
    """
    found = find(objects, kind, name)
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def pod_specs(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """
    Return (kind/name, pod spec) for every workload that runs pods.
    """
    specs = []
    for obj in objects:
        if obj["kind"] in ("Deployment", "StatefulSet", "Job", "DaemonSet"):
            specs.append(
                (f"{obj['kind']}/{obj['metadata']['name']}", obj["spec"]["template"]["spec"])
            )
    return specs
