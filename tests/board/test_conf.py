"""
board.conf.app_settings: defaults, overrides, and a change of settings seen at once.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings

from board.conf import DEFAULTS, app_settings


def test_a_setting_follows_override_settings_in_and_out() -> None:
    configured = settings.INKROOM.get("MAX_ELEMENTS", DEFAULTS["MAX_ELEMENTS"])
    assert configured == app_settings.MAX_ELEMENTS  # read (and kept) before the override
    with override_settings(INKROOM={"MAX_ELEMENTS": configured + 7}):
        assert configured + 7 == app_settings.MAX_ELEMENTS
        assert DEFAULTS["SNAPSHOT_EVERY_OPS"] == app_settings.SNAPSHOT_EVERY_OPS  # the default
    assert configured == app_settings.MAX_ELEMENTS


def test_unknown_settings_are_refused_by_name() -> None:
    with pytest.raises(AttributeError, match="Unknown Inkroom setting 'TICK_MS'"):
        app_settings.TICK_MS  # noqa: B018
