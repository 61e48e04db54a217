"""
The API's error contract: one JSON body shape, 413 for oversized bodies, domain errors mapped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from board.models import Board

pytestmark = pytest.mark.django_db


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
@pytest.mark.parametrize("path", ["/api/v1/boards/", "/api/v1/auth/signup/", "/api/v1/auth/token/"])
def test_oversized_bodies_are_refused_with_413(
    client_for: Callable[[Any], APIClient], user: Any, path: str
) -> None:
    body = {"title": "x" * 2000, "username": "y", "password": "z"}
    response = client_for(user).post(path, body, format="json")
    assert response.status_code == 413
    error = response.json()
    assert error["code"] == "too_large" and error["extra"] == {}
    assert error["message"].endswith("is above 1024 bytes.")
    assert not Board.objects.exists()


def test_default_limit_refuses_a_3_mib_board_title(
    client_for: Callable[[Any], APIClient], user: Any
) -> None:
    response = client_for(user).post(
        "/api/v1/boards/", {"title": "x" * (3 * 1024 * 1024)}, format="json"
    )
    assert response.status_code == 413 and response.json()["code"] == "too_large"


def test_validation_errors_keep_field_messages(
    client_for: Callable[[Any], APIClient], user: Any
) -> None:
    response = client_for(user).post("/api/v1/boards/", {"title": ""}, format="json")
    assert response.json() == {
        "message": "Invalid input.",
        "code": "invalid",
        "extra": {},
        "errors": {"title": ["This field may not be blank."]},
    }


def test_domain_errors_carry_code_and_extra(
    client_for: Callable[[Any], APIClient], make_user: Callable[..., Any], board: Board
) -> None:
    viewer = make_user("vera")
    board.memberships.create(user=viewer, role="viewer")
    response = client_for(viewer).delete(f"/api/v1/boards/{board.id}/")
    assert response.status_code == 403
    assert response.json() == {
        "message": "Your role on this board (viewer) does not allow you to delete the board.",
        "code": "not_allowed",
        "extra": {"role": "viewer", "required": "owner"},
    }
    missing = client_for(viewer).get("/api/v1/boards/nope/")
    assert missing.json() == {"message": "Board not found.", "code": "not_found", "extra": {}}


def test_unsupported_media_type_and_method(
    client_for: Callable[[Any], APIClient], user: Any
) -> None:
    client = client_for(user)
    xml = client.post("/api/v1/boards/", "<title/>", content_type="application/xml")
    assert xml.status_code == 415 and xml.json()["code"] == "unsupported_media_type"
    put = client.put("/api/v1/boards/", {}, format="json")
    assert put.status_code == 405 and put.json()["code"] == "method_not_allowed"
