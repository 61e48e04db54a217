"""
Reading an app's settings object in a fresh process, started as a deployment starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def settings_in_fresh_process(inkroom_env: dict[str, str], reader: str) -> dict[str, Any]:
    """
    The fields of `reader()` (a dotted path, e.g. "board.conf.board_settings") in a new process
    whose INKROOM_* variables are exactly `inkroom_env`.
    """
    module, _, name = reader.rpartition(".")
    env = {k: v for k, v in os.environ.items() if not k.startswith("INKROOM_")}
    env |= inkroom_env | {"DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1"}
    script = (
        "import django, json; django.setup();"
        f"from dataclasses import asdict; from {module} import {name};"
        f"print(json.dumps(asdict({name}())))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    fields: dict[str, Any] = json.loads(out.stdout.splitlines()[-1])
    return fields


def documented_defaults() -> dict[str, Any]:
    """
    README.md's table of environment variables: {INKROOM_X: default} for every row whose
    default is a number (64 MiB is bytes) or a string in backticks (`20/min`).
    """
    units = {"": 1, "KiB": 1024, "MiB": 1024 * 1024}
    found: dict[str, Any] = {}
    for row in (ROOT / "README.md").read_text().splitlines():
        if not row.startswith("| `INKROOM_"):
            continue
        names, values = (cell.strip() for cell in row.split("|")[1:3])
        for name, value in zip(names.split(" / "), values.split(" / "), strict=False):
            number, _, unit = value.strip().partition(" ")
            if value.startswith("`") and value.endswith("`"):
                found[name.strip("` ")] = value.strip("`")
            elif number.replace(".", "").isdigit() and unit in units:
                found[name.strip("` ")] = float(number) * units[unit]
    return found


def assert_documented(settings_class: type, defaults: Any) -> None:
    """
    Every field of `settings_class` has its INKROOM_* variable in README.md's table with the
    default `defaults` has, or at least in docs/protocol.md (whose §5 test checks the value).
    """
    documented = documented_defaults()
    protocol = (ROOT / "docs" / "protocol.md").read_text()
    for f in dataclass_fields(settings_class):
        variable = f"INKROOM_{f.name.upper()}"
        if variable in documented:
            assert documented[variable] == getattr(defaults, f.name), variable
        else:
            assert f"`{variable}`" in protocol, f"{variable} is documented nowhere"
