"""
Accounts over the API: sign-up, session login/logout with CSRF, `me`, and API tokens.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.support.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_signup_creates_the_account_and_signs_in(api_client: APIClient) -> None:
    response = api_client.post(
        "/api/v1/auth/signup/", {"username": "carol", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 201
    user = get_user_model().objects.get(username="carol")
    assert response.json() == {"id": user.pk, "username": "carol"}
    assert api_client.get("/api/v1/auth/me/").json() == {"id": user.pk, "username": "carol"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": PASSWORD}, "username"),
        ({"username": "dave"}, "password"),
        ({"username": "dave", "password": "short"}, "password"),
        ({"username": "dave", "password": "12345678901"}, "password"),
        ({"username": "alice", "password": PASSWORD}, "username"),
        ({"username": "ALICE", "password": PASSWORD}, "username"),
        ({"username": "bad name!", "password": PASSWORD}, "username"),
        ({"username": "x" * 151, "password": PASSWORD}, "username"),
    ],
)
def test_signup_rejects_bad_input_with_field_messages(
    api_client: APIClient, user: Any, body: dict[str, str], field: str
) -> None:
    response = api_client.post("/api/v1/auth/signup/", body, format="json")
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "invalid" and error["message"] == "Invalid input."
    assert isinstance(error["errors"][field], list) and error["errors"][field]


def test_login_me_logout(api_client: APIClient, user: Any) -> None:
    assert api_client.get("/api/v1/auth/me/").status_code == 401
    response = api_client.post(
        "/api/v1/auth/login/", {"username": "alice", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {"id": user.pk, "username": "alice"}
    assert api_client.get("/api/v1/auth/me/").json()["username"] == "alice"
    assert api_client.post("/api/v1/auth/logout/").status_code == 204
    me = api_client.get("/api/v1/auth/me/")
    assert me.status_code == 401
    assert me.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"username": "alice", "password": "wrong-password"}, 401),
        ({"username": "nobody", "password": PASSWORD}, 401),
        ({"username": "alice"}, 400),
        ({}, 400),
    ],
)
def test_login_refuses_bad_credentials(
    api_client: APIClient, user: Any, body: dict[str, str], status: int
) -> None:
    response = api_client.post("/api/v1/auth/login/", body, format="json")
    assert response.status_code == status
    assert response.json()["code"] in {"authentication_failed", "invalid"}


def test_a_fresh_browser_signs_in_with_csrf(user: Any) -> None:
    browser = APIClient(enforce_csrf_checks=True)
    credentials = {"username": "alice", "password": PASSWORD}
    refused = browser.post("/api/v1/auth/login/", credentials, format="json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"
    assert browser.get("/api/v1/auth/me/").status_code == 401
    csrf = browser.cookies["csrftoken"].value
    signed_in = browser.post(
        "/api/v1/auth/login/", credentials, format="json", HTTP_X_CSRFTOKEN=csrf
    )
    assert signed_in.status_code == 200
    # Login rotates the token; the frontend re-reads the cookie before each unsafe request.
    csrf = browser.cookies["csrftoken"].value
    assert browser.post("/api/v1/boards/", {"title": "x"}, format="json").status_code == 403
    created = browser.post("/api/v1/boards/", {"title": "x"}, format="json", HTTP_X_CSRFTOKEN=csrf)
    assert created.status_code == 201


def test_csrf_endpoint_sets_the_cookie() -> None:
    browser = APIClient(enforce_csrf_checks=True)
    assert browser.get("/api/v1/auth/csrf/").status_code == 204
    assert browser.cookies["csrftoken"].value


def test_token_obtain_use_and_revoke(api_client: APIClient, user: Any) -> None:
    credentials = {"username": "alice", "password": PASSWORD}
    response = api_client.post("/api/v1/auth/token/", credentials, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    assert token == Token.objects.get(user=user).key
    again = api_client.post("/api/v1/auth/token/", credentials, format="json")
    assert again.json()["token"] == token
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/v1/auth/me/").json()["username"] == "alice"
    assert api_client.delete("/api/v1/auth/token/").status_code == 204
    assert not Token.objects.filter(user=user).exists()
    response = api_client.get("/api/v1/auth/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_token_refused_for_wrong_password_and_revoke_needs_auth(
    api_client: APIClient, user: Any
) -> None:
    bad = {"username": "alice", "password": "nope"}
    assert api_client.post("/api/v1/auth/token/", bad, format="json").status_code == 401
    assert api_client.post("/api/v1/auth/token/", {}, format="json").status_code == 400
    assert api_client.delete("/api/v1/auth/token/").status_code == 401
