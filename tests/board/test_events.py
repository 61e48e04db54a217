"""
board.events: each service announces what it changed as typed domain events, once its
transaction commits, and a rolled-back change announces nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import transaction

from board import services
from board.events import (
    AccessChanged,
    BoardChanged,
    BoardDeleted,
    BoardEvent,
    OpsAppended,
    board_event,
)
from board.models import LinkAccess, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard() -> Iterator[list[BoardEvent]]:
    events: list[BoardEvent] = []

    def receive(sender: Any, event: BoardEvent, **kwargs: Any) -> None:
        assert sender is type(event)
        events.append(event)

    board_event.connect(receive, dispatch_uid="test-events")
    yield events
    board_event.disconnect(dispatch_uid="test-events")


def committed(write: Callable[[], Any], capture: Any) -> None:
    with capture(execute=True):
        write()


def test_each_service_announces_its_change_on_commit(
    heard: list[BoardEvent], board: Any, make_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    guest, board_id = make_user("guest"), board.id
    with django_capture_on_commit_callbacks(execute=False) as pending:
        services.board_update(board=board, title="Renamed", link_access=LinkAccess.VIEW)
    assert heard == []  # not before the commit
    for callback in pending:
        callback()
    assert heard == [BoardChanged(board_id, "Renamed", LinkAccess.VIEW), AccessChanged(board_id)]

    heard.clear()
    capture = django_capture_on_commit_callbacks
    committed(lambda: services.membership_add(board=board, user=guest, role=Role.EDITOR), capture)
    snapshot = services.snapshot_create(board=board, created_by=board.owner, label="v1")
    committed(lambda: services.snapshot_restore(snapshot=snapshot, author=board.owner), capture)
    committed(lambda: services.board_delete(board=board), capture)
    assert heard == [
        AccessChanged(board_id, guest.pk),
        OpsAppended(board_id, 1, 1),
        BoardDeleted(board_id),
    ]


def test_a_rolled_back_change_announces_nothing(
    heard: list[BoardEvent], board: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.board_update(board=board, title="Never")
        raise RuntimeError("roll back")
    assert callbacks == [] and heard == []
