"""
board.conf.app_settings: defaults, overrides, and a change of settings seen at once.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings

from board.conf import DEFAULTS, app_settings


def test_a_setting_follows_override_settings_in_and_out() -> None:
    configured = settings.INKROOM["TICK_MS"]
    assert configured == app_settings.TICK_MS  # read (and kept) before the override
    with override_settings(INKROOM={"TICK_MS": configured + 7}):
        assert configured + 7 == app_settings.TICK_MS
        assert DEFAULTS["CURSOR_MS"] == app_settings.CURSOR_MS  # not overridden: the default
    assert configured == app_settings.TICK_MS


def test_unknown_settings_are_refused_by_name() -> None:
    with pytest.raises(AttributeError, match="Unknown Inkroom setting 'TICKS_MS'"):
        app_settings.TICKS_MS  # noqa: B018
