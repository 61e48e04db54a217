"""
The history scrubber's timeline: a board's latest changes, a whole stroke each, with time and
author (board.timeline).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import SHARE_PARAMETERS, SharedBoardApi
from api.schema import READ_ERRORS, errors
from board.timeline import board_timeline

#: The scrubber covers a board's latest this many ops. Their rows are read without payloads
#: (a few dozen bytes each); older states stay reachable through snapshots.
MAX_TIMELINE_OPS = 20_000


class HistoryAuthorSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    username = serializers.CharField()


class HistoryStepSerializer(serializers.Serializer[Any]):
    seq = serializers.IntegerField(help_text="The board after this change: GET state/?seq=.")
    first_seq = serializers.IntegerField(help_text="The change's first op.")
    kind = serializers.CharField(help_text="The first op's kind (add, upd, del, ...).")
    ops = serializers.IntegerField(help_text="How many ops the change took.")
    at = serializers.DateTimeField(help_text="When its last op was stored.")
    author = HistoryAuthorSerializer(allow_null=True)


class HistorySerializer(serializers.Serializer[Any]):
    steps = HistoryStepSerializer(many=True)
    truncated = serializers.BooleanField(help_text="Older changes exist and were left out.")
    head_seq = serializers.IntegerField()


class BoardHistoryApi(SharedBoardApi):
    """
    The board's changes as people made them, for the history scrubber.
    """

    @extend_schema(
        tags=["history"],
        parameters=SHARE_PARAMETERS,
        responses={200: HistorySerializer, **errors(*READ_ERRORS)},
        summary="The latest changes, a whole stroke each, with time and author",
    )
    def get(self, request: Request, board_id: str) -> Response:
        access = self.board_access(request, board_id)
        timeline = board_timeline(board_id=access.board.id, max_ops=MAX_TIMELINE_OPS)
        steps = [
            {
                "seq": s.seq,
                "first_seq": s.first_seq,
                "kind": s.kind,
                "ops": s.ops,
                "at": s.at,
                "author": {"id": s.author_id, "username": s.author} if s.author else None,
            }
            for s in timeline.steps
        ]
        # The board row was read before the ops: ops appended in between may pass its head.
        last = timeline.steps[-1].seq if timeline.steps else 0
        head_seq = max(access.board.head_seq, last)
        # Not through HistorySerializer: per-field serialising of 20,000 steps is slow, and these
        # are plain values already (DRF's encoder writes the datetimes as ISO 8601).
        return Response({"steps": steps, "truncated": timeline.truncated, "head_seq": head_seq})
