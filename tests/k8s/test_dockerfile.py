"""
The Dockerfile's structure (no Docker engine here, so it is read, not built).
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _instructions() -> list[tuple[str, str]]:
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [ln.strip() for ln in text.splitlines()]
    out = []
    for line in lines:
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_two_stages_node_then_slim_python() -> None:
    stages = [rest for word, rest in _instructions() if word == "FROM"]
    assert len(stages) == 2
    args = dict(
        rest.split("=", 1) for word, rest in _instructions() if word == "ARG" and "=" in rest
    )
    assert args["NODE_IMAGE"].startswith("node:20")
    assert re.fullmatch(r"python:3\.11-slim.*", args["PYTHON_IMAGE"])
    assert stages[0].endswith("AS frontend")
    runs = " ".join(rest for word, rest in _instructions() if word == "RUN")
    assert "npm ci" in runs and "npm run build" in runs
    copies = [rest for word, rest in _instructions() if word == "COPY"]
    assert any("--from=frontend" in c and "frontend/static/frontend/dist" in c for c in copies)


def test_runtime_installs_the_package_and_collects_static() -> None:
    runs = " ".join(rest for word, rest in _instructions() if word == "RUN")
    assert "pip install ." in runs
    assert "manage.py collectstatic --noinput" in runs


def test_runs_as_non_root_without_healthcheck() -> None:
    words = [word for word, _ in _instructions()]
    assert "HEALTHCHECK" not in words
    users = [rest for word, rest in _instructions() if word == "USER"]
    assert users, "the runtime stage must switch to an unprivileged USER"
    assert users[-1].split(":")[0] not in ("root", "0")
    # Kubernetes' runAsNonRoot can only verify a numeric uid.
    assert users[-1].split(":")[0].isdigit()
    last_from = max(i for i, (word, _) in enumerate(_instructions()) if word == "FROM")
    user_at = max(i for i, (word, _) in enumerate(_instructions()) if word == "USER")
    assert user_at > last_from


def test_entrypoint_serves_realtime_in_exec_form() -> None:
    entry = [rest for word, rest in _instructions() if word in ("ENTRYPOINT", "CMD")]
    assert entry[-1] == '["python", "-m", "realtime.server.serve"]'


def test_dockerignore_keeps_local_state_out() -> None:
    ignored = set((REPO / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".cluster", ".env", "frontend/node_modules/"} <= ignored
