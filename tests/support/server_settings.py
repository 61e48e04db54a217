"""
The settings of the server processes tests start: the product's, with a fast password hasher.

Browser tests create users in the test process and sign them in through the server's login form:
with Django's PBKDF2 each of those costs about a second of CPU on both sides, minutes over the
suite. MD5 comes first, so both sides hash and check quickly; the default hashers stay listed, so
a password hashed by a server started with the product's settings still checks.
"""

from __future__ import annotations

from django.conf import global_settings

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    *global_settings.PASSWORD_HASHERS,
]
