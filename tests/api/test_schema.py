"""
The OpenAPI schema against the running API: schemathesis generates requests for every operation
and checks that none answers 5xx and every response conforms to the schema.

Requests go in-process through the WSGI app, authenticated with the board owner's API token, and
path parameters point at a real board, member, share link and snapshot for half of the examples,
so generated bodies reach the views instead of stopping at 404.

schemathesis' own pytest integration (`from_fixture`/`parametrize`) breaks on pytest 9 (it sets
`Function._nodeid`), so each operation runs its own Hypothesis test here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.support.factories import World

#: Examples per operation (positive generation): ~30 operations x 10 examples, about 15 s.
EXAMPLES_PER_OPERATION = 10
#: Operations that would turn every later example into a 401/404 (token revoked, board deleted).
SKIPPED = {"DELETE /api/v1/auth/token/", "DELETE /api/v1/boards/{board_id}/"}

SCHEMA = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


#: Each API operation but SKIPPED, as its own test.
every_operation = pytest.mark.parametrize(
    "operation",
    [op for op in OPERATIONS if op.label not in SKIPPED],
    ids=lambda op: op.label,
)


def _owner_token(world: World) -> dict[str, str]:
    return {"Authorization": f"Token {Token.objects.create(user=world.users['owner']).key}"}


@pytest.fixture
def keep_db_connection() -> Iterator[None]:
    # The WSGI handler closes the connection at the end of each request, which would end the test
    # transaction; Django's test client disconnects the same handler for the same reason.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _point_at_world(case: Any, world: World) -> None:
    real = {
        "board_id": world.board.id,
        "user_id": world.target.pk,
        "link_id": world.view_link.pk,
        "snapshot_id": world.snapshot.pk,
    }
    for name in case.path_parameters or {}:
        if name in real:
            case.path_parameters[name] = real[name]


@pytest.mark.django_db
@pytest.mark.slow
@every_operation
def test_operation_conforms_to_the_schema(
    operation: Any, world: World, keep_db_connection: None
) -> None:
    headers = _owner_token(world)
    examples = iter(range(1_000_000))

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        if next(examples) % 2 == 0:
            _point_at_world(case, world)
        case.call_and_validate(
            headers=headers, checks=[not_a_server_error, response_schema_conformance]
        )

    check()


def test_schema_covers_every_route() -> None:
    labels = {op.label for op in OPERATIONS}
    assert len(labels) >= 28
    assert "POST /api/v1/boards/{board_id}/snapshots/{snapshot_id}/restore/" in labels
    assert "GET /api/v1/boards/{board_id}/export/{fmt}/" in labels


@pytest.mark.django_db
def test_swagger_ui_is_served_from_our_own_static_files(api_client: Any) -> None:
    page = api_client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn." not in page
    schema = api_client.get("/api/schema/")
    assert schema.status_code == 200 and b"openapi: 3" in schema.content


#: Values that broke the API before (issue 15): lone surrogates (in JSON bodies: URLs carry
#: bytes, which Django decodes with replacement), what XML refuses, digits that int() refuses,
#: NUL, and ids past a bigint.
HOSTILE_STRINGS = ["\ufffe", "\uffff", "²", "٣", "\x00"]
HOSTILE_BODY = ["\ud800", "a\udfffb", *HOSTILE_STRINGS, 2**64]
HOSTILE_IDS = [2**63, 2**64 + 1, "²", "-1"]


def _hostile_variants(case: Any) -> Iterator[str]:
    """
    Put each hostile value in each path parameter, query parameter and string field of the
    case's body, one at a time (the case is changed in place and restored after each).
    """
    containers = [
        (case.path_parameters, [*HOSTILE_IDS, *HOSTILE_STRINGS[:2]]),
        (case.query, HOSTILE_STRINGS),
        # A lone surrogate travels in JSON as an escape; a form body cannot carry one at all.
        (
            case.body if isinstance(case.body, dict) else None,
            HOSTILE_BODY if case.media_type == "application/json" else HOSTILE_BODY[2:],
        ),
    ]
    for container, values in containers:
        for name in list(container or {}):
            original = container[name]
            for value in values:
                container[name] = value
                yield f"{name}={value!r}"
            container[name] = original


@pytest.mark.django_db
@pytest.mark.slow
@every_operation
def test_hostile_values_get_a_4xx_never_a_5xx(
    operation: Any, world: World, keep_db_connection: None
) -> None:
    headers = _owner_token(world)

    @given(case=operation.as_strategy())
    @settings(
        max_examples=2,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        _point_at_world(case, world)
        for where in _hostile_variants(case):
            try:
                case.call_and_validate(headers=headers, checks=[not_a_server_error])
            except Exception as exc:
                raise AssertionError(f"{operation.label} with {where}") from exc

    check()
