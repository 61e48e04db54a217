"""
Password guessing and sign-up are throttled (issue 15, finding 4): per client IP and per username
on auth/token/, auth/login/ and the admin login, per IP on auth/signup/; 429 with Retry-After,
counted in the cache that every process shares. The clock is replaced, not slept on.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from tests.support.factories import PASSWORD

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]
WRONG = {"username": "alice", "password": "not-the-password"}
RIGHT = {"username": "alice", "password": PASSWORD}
#: A moment one second into a day-aligned window, so no window of the tests' rates ends early.
START = 1_800_057_601.0


@pytest.fixture
def rates(settings: Any) -> Iterator[dict[str, str | None]]:
    """
    Small limits for the test; change the dict and call apply() to change them.
    """
    values: dict[str, str | None] = {
        "login_ip": "100/min",
        "login_username": "3/min",
        "signup_ip": "2/hour",
    }
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": values}
    yield values


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """
    The throttles' clock, as a one-element list the test moves; fixed, so that no window ends
    in the middle of a test.
    """
    now = [START]
    try:
        throttles: ModuleType = importlib.import_module("api.throttles")
    except ImportError:
        pass  # before the throttles existed: the tests fail on their assertions
    else:
        monkeypatch.setattr(throttles, "now", lambda: now[0])
    yield now


def post(client: APIClient, path: str, body: dict[str, str], **extra: str) -> Any:
    return client.post(f"/api/v1/auth/{path}/", body, format="json", **extra)


def test_wrong_passwords_past_the_limit_get_429_with_retry_after(
    api_client: APIClient, user: Any, rates: Any
) -> None:
    assert [post(api_client, "token", WRONG).status_code for _ in range(3)] == [401] * 3
    refused = post(api_client, "token", WRONG)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["code"] == "throttled"
    # The right password is refused too while the window lasts: no guess gets through.
    right = post(api_client, "token", RIGHT)
    assert right.status_code == 429 and right.has_header("Retry-After")
    # Another username from the same address is not affected.
    get_user_model().objects.create_user("bob", password=PASSWORD)
    assert post(api_client, "token", {"username": "bob", "password": PASSWORD}).status_code == 200


def test_twenty_wrong_passwords_at_the_default_rates_end_in_429(
    api_client: APIClient, user: Any
) -> None:
    # The reproduction, at the defaults (10/min per username).
    codes = [post(api_client, "login", WRONG).status_code for _ in range(20)]
    assert codes[:10] == [401] * 10 and set(codes[10:]) == {429}
    assert post(api_client, "login", RIGHT).status_code == 429


def test_the_right_password_works_again_after_the_window(
    api_client: APIClient, user: Any, rates: Any, clock: list[float]
) -> None:
    for _ in range(3):
        assert post(api_client, "login", WRONG).status_code == 401
    refused = post(api_client, "login", RIGHT)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) == 59  # one second into the minute
    clock[0] += 58
    assert post(api_client, "login", RIGHT).status_code == 429
    clock[0] += 1  # the next minute
    assert post(api_client, "login", RIGHT).status_code == 200


def test_successful_sign_ins_do_not_use_up_the_username_limit(
    api_client: APIClient, user: Any, rates: Any
) -> None:
    for _ in range(6):
        assert post(APIClient(), "token", RIGHT).status_code == 200
        assert post(APIClient(), "login", RIGHT).status_code == 200
    # Failures still add up: two more are allowed (3/min), the third is the limit, then 429.
    assert [post(api_client, "token", WRONG).status_code for _ in range(4)] == [401] * 3 + [429]


def test_token_login_and_admin_login_share_one_count(
    api_client: APIClient, user: Any, rates: Any
) -> None:
    assert post(api_client, "token", WRONG).status_code == 401
    assert post(api_client, "login", WRONG).status_code == 401
    assert Client().post("/admin/login/", WRONG).status_code == 200  # the form again
    assert post(api_client, "token", WRONG).status_code == 429


def test_per_ip_limit_covers_every_username(api_client: APIClient, user: Any, rates: Any) -> None:
    rates["login_ip"] = "5/min"
    codes = [
        post(api_client, "token", {"username": f"guess{n}", "password": "x"}).status_code
        for n in range(6)
    ]
    assert codes == [401] * 5 + [429]
    assert post(api_client, "token", RIGHT).status_code == 429  # the address is out of attempts
    other = post(api_client, "token", RIGHT, REMOTE_ADDR="192.0.2.7")
    assert other.status_code == 200


def test_x_forwarded_for_is_ignored_unless_proxies_are_trusted(
    api_client: APIClient, user: Any, rates: Any, clock: list[float], settings: Any
) -> None:
    rates["login_ip"] = "2/min"
    # By default the header is the client's to write: a fresh one per guess changes nothing.
    codes = [
        post(
            api_client, "token", WRONG | {"username": f"u{n}"}, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}"
        ).status_code
        for n in range(3)
    ]
    assert codes == [401, 401, 429]

    # With one trusted proxy (the Ingress), its entry, the last one, is the client.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    cache.clear()
    spoofed = "203.0.113.1, 198.51.100.9"
    for _ in range(2):
        assert post(api_client, "token", WRONG, HTTP_X_FORWARDED_FOR=spoofed).status_code == 401
    assert (
        post(api_client, "token", WRONG, HTTP_X_FORWARDED_FOR="203.0.113.2, 198.51.100.9")
    ).status_code == 429
    assert post(api_client, "token", RIGHT, HTTP_X_FORWARDED_FOR="198.51.100.10").status_code == 200


def test_an_ipv6_client_counts_by_its_64(api_client: APIClient, user: Any, rates: Any) -> None:
    rates["login_ip"] = "2/min"
    for n in (1, 2):
        body = {"username": f"u{n}", "password": "x"}
        assert post(api_client, "token", body, REMOTE_ADDR=f"2001:db8::{n}").status_code == 401
    refused = post(api_client, "token", RIGHT, REMOTE_ADDR="2001:db8::ffff:3")
    assert refused.status_code == 429
    assert post(api_client, "token", RIGHT, REMOTE_ADDR="2001:db8:0:1::1").status_code == 200


def test_sign_up_is_limited_per_ip(api_client: APIClient, rates: Any, clock: list[float]) -> None:
    for name in ("carol", "dave"):
        assert (
            post(APIClient(), "signup", {"username": name, "password": PASSWORD}).status_code == 201
        )
    refused = post(api_client, "signup", {"username": "erin", "password": PASSWORD})
    assert refused.status_code == 429
    assert 3000 < int(refused["Retry-After"]) <= 3600
    assert not get_user_model().objects.filter(username="erin").exists()
    clock[0] += 3600
    assert post(api_client, "signup", {"username": "erin", "password": PASSWORD}).status_code == 201


def test_admin_login_is_throttled(rates: Any, clock: list[float]) -> None:
    get_user_model().objects.create_superuser("root", password="admin-password-1")
    wrong = {"username": "root", "password": "guess", "next": "/admin/"}
    right = {"username": "root", "password": "admin-password-1", "next": "/admin/"}
    browser = Client()
    assert [browser.post("/admin/login/", wrong).status_code for _ in range(3)] == [200] * 3
    refused = browser.post("/admin/login/", wrong)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert browser.post("/admin/login/", right).status_code == 429
    clock[0] += 60
    assert browser.post("/admin/login/", right).status_code == 302
    # That success gave its attempt back; sign-ins that work never add up.
    for _ in range(5):
        assert Client().post("/admin/login/", right).status_code == 302


def test_an_empty_rate_means_no_limit(api_client: APIClient, user: Any, rates: Any) -> None:
    rates["login_username"] = None
    assert {post(api_client, "token", WRONG).status_code for _ in range(6)} == {401}


def _settings_in_subprocess(env: dict[str, str], expression: str) -> str:
    base = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    done = subprocess.run(
        [sys.executable, "-c", f"import config.settings as s; print({expression})"],
        cwd=REPO,
        env={**base, "SECRET_KEY": "x" * 50, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_cache_is_redis_when_redis_url_is_set() -> None:
    shared = _settings_in_subprocess(
        {"REDIS_URL": "redis://127.0.0.1:6379/13", "CHANNEL_LAYER_PREFIX": "pod-x"},
        "s.CACHES['default']['BACKEND'], s.CACHES['default']['KEY_PREFIX']",
    )
    assert shared == "config.cache.SharedRedisCache pod-x-cache"
    local = _settings_in_subprocess({}, "s.CACHES['default']['BACKEND']")
    assert local == "django.core.cache.backends.locmem.LocMemCache"


def test_rates_and_trusted_proxies_come_from_the_environment() -> None:
    out = _settings_in_subprocess(
        {
            "INKROOM_LOGIN_RATE_IP": "7/min",
            "INKROOM_LOGIN_RATE_USERNAME": "",
            "INKROOM_SIGNUP_RATE_IP": "3/day",
            "TRUSTED_PROXY_COUNT": "2",
        },
        "s.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'], s.REST_FRAMEWORK['NUM_PROXIES']",
    )
    assert out == "{'login_ip': '7/min', 'login_username': None, 'signup_ip': '3/day'} 2"
    defaults = _settings_in_subprocess({}, "s.REST_FRAMEWORK['NUM_PROXIES']")
    assert defaults == "0"


def test_a_malformed_rate_fails_at_start_up() -> None:
    base = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        cwd=REPO,
        env={**base, "SECRET_KEY": "x" * 50, "INKROOM_LOGIN_RATE_IP": "30 per minute"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0 and "INKROOM_LOGIN_RATE_IP" in done.stderr
