"""
`manage.py ensure_demo_user`: the first-run convenience of `make run`.

Creates (or resets the password of) the user `demo` with password `demo-inkroom`, so a newcomer
can sign in and create a board within a minute. It refuses to run unless DEBUG is on: against a
production-mode server it would create an account whose password is in the README.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-inkroom"


class Command(BaseCommand):
    help = "Create or update the demo user (demo / demo-inkroom) and print how to sign in."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "ensure_demo_user only runs with DEBUG=1 (`make run` sets it): the demo account's "
                "password is public, so it must never exist on a production server."
            )
        user, created = get_user_model().objects.get_or_create(username=DEMO_USERNAME)
        user.set_password(DEMO_PASSWORD)
        user.is_active = True
        user.save()
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} the demo user. Sign in at /login/ as:")
        self.stdout.write(f"    username: {DEMO_USERNAME}   password: {DEMO_PASSWORD}")
        self.stdout.write("or get an API token:")
        # `make run` passes PORT to the server; the hint should name the same port.
        port = os.environ.get("PORT", "8000")
        self.stdout.write(
            f"    curl -s -X POST http://127.0.0.1:{port}/api/v1/auth/token/ "
            "-H 'Content-Type: application/json' "
            f"""-d '{{"username": "{DEMO_USERNAME}", "password": "{DEMO_PASSWORD}"}}'"""
        )
