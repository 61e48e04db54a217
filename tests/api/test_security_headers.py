"""
Production headers (issue 15, finding 9): a Content-Security-Policy on every HTML page without
inline script (the pages have none to allow), HSTS from the environment on HTTPS requests.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from board.models import Board
from frontend.views import COLORS, WIDTHS

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]


def policy(response: Any) -> dict[str, list[str]]:
    header = response.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: sources for name, *sources in directives}


@pytest.fixture
def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_every_page_has_a_strict_policy(signed_in: Client, board: Board) -> None:
    pages = {
        "/login/": Client().get("/login/"),
        "/signup/": Client().get("/signup/"),
        "/": signed_in.get("/"),
        f"/b/{board.id}/": signed_in.get(f"/b/{board.id}/"),
        "/admin/login/": Client().get("/admin/login/"),
    }
    for path, response in pages.items():
        assert response.status_code == 200, path
        csp = policy(response)
        assert csp["script-src"] == ["'self'"], path
        assert csp["style-src"] == ["'self'"], path
        assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"], path
        assert csp["frame-ancestors"] == ["'none'"] and csp["form-action"] == ["'self'"], path
        assert not any("'unsafe-eval'" in sources for sources in csp.values()), path
        assert "ws://testserver" in csp["connect-src"], path


def test_https_pages_allow_only_wss_to_themselves(signed_in: Client, board: Board) -> None:
    response = signed_in.get(
        f"/b/{board.id}/", HTTP_X_FORWARDED_PROTO="https", HTTP_HOST="testserver"
    )
    assert policy(response)["connect-src"] == ["'self'", "wss://testserver"]


def test_our_pages_have_no_inline_script_or_style(signed_in: Client, board: Board) -> None:
    # What the policy forbids must not be in our templates to begin with.
    for response in (Client().get("/login/"), signed_in.get("/"), signed_in.get(f"/b/{board.id}/")):
        html = response.content.decode()
        scripts = re.findall(r"<script\b[^>]*>", html)
        assert scripts and all("src=" in tag for tag in scripts)
        assert not re.search(r"<style\b", html)
        assert not re.search(r"\sstyle=", html)
        assert not re.search(r"\son[a-z]+=", html)


def test_the_stylesheet_has_every_palette_entry() -> None:
    # The colours and widths moved from style attributes to app.css (see frontend/views.py).
    css = (REPO / "frontend" / "static" / "frontend" / "app.css").read_text()
    for color, _name in COLORS:
        assert f'.swatch[data-color="{color}"] {{ --swatch: {color}; }}' in css
    for width, _name in WIDTHS:
        assert f'.width[data-width="{width}"] span {{ --w: {width}px; }}' in css


def test_the_bundle_uses_no_eval() -> None:
    bundle = REPO / "frontend" / "static" / "frontend" / "dist" / "main.js"
    if not bundle.exists():
        pytest.skip("the frontend bundle is not built (make -C frontend build)")
    code = bundle.read_text()
    assert not re.search(r"\beval\(|new Function\(", code)


def test_json_answers_carry_no_policy(signed_in: Client) -> None:
    response = signed_in.get("/api/v1/boards/")
    assert response.status_code == 200
    assert "Content-Security-Policy" not in response


def test_only_swagger_ui_gets_inline_script(signed_in: Client) -> None:
    csp = policy(signed_in.get("/api/docs/"))
    assert csp["script-src"] == ["'self'", "'unsafe-inline'"]


def test_hsts_on_https_requests_when_configured(settings: Any) -> None:
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    secure = Client().get("/login/", HTTP_X_FORWARDED_PROTO="https")
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "Strict-Transport-Security" not in Client().get("/login/")


def _settings(env: dict[str, str], expression: str) -> str:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SECURE_HSTS")}
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


def test_hsts_comes_from_the_environment() -> None:
    expression = "s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD"
    assert _settings({}, expression) == "0 False False"
    configured = {
        "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
        "SECURE_HSTS_PRELOAD": "1",
    }
    assert _settings(configured, expression) == "31536000 True True"
