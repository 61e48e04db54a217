"""
realtime.conf: one settings object, its defaults, overrides seen at once, and the environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from realtime.conf import DEFAULTS, RealtimeSettings, hello_limits, realtime_settings

ROOT = Path(__file__).resolve().parents[2]


def test_without_overrides_every_setting_is_its_default(settings) -> None:
    settings.INKROOM = {}
    assert realtime_settings() == DEFAULTS


def test_an_override_is_seen_at_once_and_undone_after() -> None:
    before = realtime_settings()
    with override_settings(INKROOM={"TICK_MS": before.tick_ms + 7, "OPS_PER_SEC": "12"}):
        now = realtime_settings()
        assert (now.tick_ms, now.ops_per_sec) == (before.tick_ms + 7, 12.0)
        assert now.cursor_ms == DEFAULTS.cursor_ms  # not overridden: the default
        assert hello_limits()["ops_per_sec"] == 12.0
    assert realtime_settings() == before


def test_a_value_of_the_wrong_kind_fails_naming_the_key() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"INKROOM\['SEND_QUEUE_FRAMES'\]='many'"):
        RealtimeSettings.from_mapping({"SEND_QUEUE_FRAMES": "many"})


def test_every_setting_is_read_from_its_inkroom_variable() -> None:
    # A fresh process, as a deployment starts: each INKROOM_<FIELD> set to a value of its own.
    names = [f.name for f in fields(RealtimeSettings)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("INKROOM_")}
    env |= {f"INKROOM_{name.upper()}": str(100 + k) for k, name in enumerate(names)}
    env |= {"DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1"}
    script = (
        "import django, json; django.setup();"
        "from dataclasses import asdict; from realtime.conf import realtime_settings;"
        "print(json.dumps(asdict(realtime_settings())))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[-1]) == {n: 100 + k for k, n in enumerate(names)}


def _readme_defaults() -> dict[str, float]:
    """
    README's environment table: {variable: default} for the rows of numeric defaults.
    """
    text = (ROOT / "README.md").read_text()
    units = {"KiB": 1024, "MiB": 1024 * 1024}
    found: dict[str, float] = {}
    for row in (line for line in text.splitlines() if line.startswith("| `INKROOM_")):
        names, values = (cell.strip() for cell in row.split("|")[1:3])
        for name, value in zip(names.split(" / "), values.split(" / "), strict=False):
            number, _, unit = value.strip().partition(" ")
            if number.replace(".", "").isdigit() and unit in ("", *units):
                found[name.strip("` ")] = float(number) * units.get(unit, 1)
    return found


def test_readme_and_protocol_md_give_every_realtime_variable_its_default() -> None:
    documented = _readme_defaults()
    protocol = (ROOT / "docs" / "protocol.md").read_text()
    for f in fields(RealtimeSettings):
        variable = f"INKROOM_{f.name.upper()}"
        if variable in documented:
            assert documented[variable] == getattr(DEFAULTS, f.name), variable
        else:
            assert f"`{variable}`" in protocol, f"{variable} is documented nowhere"
