"""
board.conf: one settings object, its defaults, overrides seen at once, the environment, and the
documented defaults.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from board.conf import DEFAULTS, BoardSettings, board_settings
from board.document import Limits
from config.appsettings import settings_from
from tests.support.settings import assert_documented, settings_in_fresh_process


def test_without_overrides_every_setting_is_its_default(settings: Any) -> None:
    settings.INKROOM = {}
    assert board_settings() == DEFAULTS
    assert Limits.from_settings() == Limits()  # the document model's defaults are the board's


def test_an_override_is_seen_at_once_and_undone_after() -> None:
    before = board_settings()
    with override_settings(INKROOM={"MAX_ELEMENTS": before.max_elements + 7, "EXPORT_RATE": None}):
        now = board_settings()
        assert (now.max_elements, now.export_rate) == (before.max_elements + 7, None)
        assert now.snapshot_every_ops == DEFAULTS.snapshot_every_ops  # not overridden
        assert Limits.from_settings().max_elements == before.max_elements + 7
    assert board_settings() == before


@pytest.mark.parametrize(
    ("key", "value"),
    [("MAX_ELEMENTS", "many"), ("EXPORT_TIMEOUT_SECS", None), ("SNAPSHOT_RATE", 5)],
)
def test_a_value_of_the_wrong_kind_fails_naming_the_key(key: str, value: Any) -> None:
    with pytest.raises(ImproperlyConfigured, match=rf"INKROOM\['{key}'\]={value!r} is not"):
        settings_from(BoardSettings, {key: value})


def test_every_setting_is_read_from_its_inkroom_variable() -> None:
    # A fresh process, as a deployment starts: each INKROOM_<FIELD> set to a value of its own;
    # a rate set empty is no limit.
    values: dict[str, Any] = {}
    for k, f in enumerate(fields(BoardSettings)):
        values[f.name] = f"{100 + k}/min" if f.type == "str | None" else 100 + k
    values["export_rate"] = None
    env = {f"INKROOM_{name.upper()}": str(v or "") for name, v in values.items()}
    assert settings_in_fresh_process(env, "board.conf.board_settings") == values


def test_readme_and_protocol_md_give_every_board_variable_its_default() -> None:
    assert_documented(BoardSettings, DEFAULTS)
