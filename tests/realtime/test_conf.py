"""
realtime.conf: one settings object, its defaults, overrides seen at once, and the environment.
"""

from __future__ import annotations

from dataclasses import fields

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from realtime.conf import DEFAULTS, RealtimeSettings, hello_limits, realtime_settings
from tests.support.settings import assert_documented, settings_in_fresh_process


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
    env = {f"INKROOM_{name.upper()}": str(100 + k) for k, name in enumerate(names)}
    read = settings_in_fresh_process(env, "realtime.conf.realtime_settings")
    assert read == {n: 100 + k for k, n in enumerate(names)}


def test_readme_and_protocol_md_give_every_realtime_variable_its_default() -> None:
    assert_documented(RealtimeSettings, DEFAULTS)
