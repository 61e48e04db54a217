"""
`manage.py ensure_demo_user`: creates the demo account, and resets it when run again; only with
DEBUG on (issue 15, finding 12).
"""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def test_refuses_to_run_without_debug(settings: Any) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("ensure_demo_user", stdout=StringIO())
    assert not get_user_model().objects.filter(username="demo").exists()


def test_creates_then_updates_the_demo_user(settings: Any) -> None:
    settings.DEBUG = True
    out = StringIO()
    call_command("ensure_demo_user", stdout=out)
    assert "Created the demo user" in out.getvalue()
    assert "demo-inkroom" in out.getvalue()
    demo = get_user_model().objects.get(username="demo")
    demo.set_password("changed-by-someone")
    demo.is_active = False
    demo.save()
    out = StringIO()
    call_command("ensure_demo_user", stdout=out)
    assert "Updated the demo user" in out.getvalue()
    assert authenticate(username="demo", password="demo-inkroom") is not None
    assert get_user_model().objects.filter(username="demo").count() == 1
