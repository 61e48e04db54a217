"""
`manage.py ensure_demo_user`: creates the demo account, and resets it when run again.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_creates_then_updates_the_demo_user() -> None:
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
