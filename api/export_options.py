"""
The export endpoint's query options (padding, background, scale, ids, frame, dark), read into
board.export.options.ExportOptions; bad values are a 400 naming the field.
"""

from __future__ import annotations

import math
import re
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.request import Request

from board.document.limits import ID_MAX_CHARS
from board.export.options import PADDING_MAX, SCALE_MAX, SCALE_MIN, ExportOptions

#: At most this many ids in `ids`: a selection larger than this is the whole board in practice,
#: and the query string must stay under the proxies' URL limits anyway.
MAX_EXPORT_IDS = 2000

_is_id = re.compile(rf"[A-Za-z0-9_-]{{1,{ID_MAX_CHARS}}}").fullmatch

_FLAG = ["0", "1"]


class ExportQuerySerializer(serializers.Serializer[Any]):
    padding = serializers.IntegerField(min_value=0, max_value=PADDING_MAX, required=False)
    background = serializers.ChoiceField(choices=_FLAG, required=False)
    scale = serializers.FloatField(min_value=SCALE_MIN, max_value=SCALE_MAX, required=False)
    ids = serializers.CharField(required=False, allow_blank=False, trim_whitespace=False)
    frame = serializers.CharField(required=False, allow_blank=False, trim_whitespace=False)
    dark = serializers.ChoiceField(choices=_FLAG, required=False)

    def validate_scale(self, value: float) -> float:
        if not math.isfinite(value):
            raise serializers.ValidationError("A finite number is required.")
        return value

    def validate_ids(self, value: str) -> tuple[str, ...]:
        ids = value.split(",")
        if len(ids) > MAX_EXPORT_IDS:
            raise serializers.ValidationError(f"At most {MAX_EXPORT_IDS} ids.")
        bad = next((i for i in ids if not _is_id(i)), None)
        if bad is not None:
            raise serializers.ValidationError(
                f"Element ids are 1 to {ID_MAX_CHARS} of A-Z a-z 0-9 _ -, comma-separated."
            )
        return tuple(dict.fromkeys(ids))

    def validate_frame(self, value: str) -> str:
        if not _is_id(value):
            raise serializers.ValidationError(
                f"An element id is 1 to {ID_MAX_CHARS} of A-Z a-z 0-9 _ -."
            )
        return value


def export_options(request: Request) -> ExportOptions:
    """
    The options of this export request (raises ValidationError: a 400 naming the field).
    """
    query = ExportQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    data = query.validated_data
    defaults = ExportOptions()
    return ExportOptions(
        padding=data.get("padding", defaults.padding),
        background=data.get("background", "1") == "1",
        scale=data.get("scale", defaults.scale),
        ids=data.get("ids"),
        frame=data.get("frame"),
        dark=data.get("dark", "0") == "1",
    )


EXPORT_PARAMETERS = [
    OpenApiParameter(
        "padding",
        OpenApiTypes.INT,
        description=f"Space around the content, 0..{PADDING_MAX} units (default 16).",
    ),
    OpenApiParameter(
        "background",
        OpenApiTypes.STR,
        enum=_FLAG,
        description="0: transparent PNG, SVG without background.",
    ),
    OpenApiParameter(
        "scale",
        OpenApiTypes.NUMBER,
        description=f"PNG px per unit, {SCALE_MIN}..{SCALE_MAX} (default 1).",
    ),
    OpenApiParameter(
        "ids", OpenApiTypes.STR, description="Comma-separated element ids: only those."
    ),
    OpenApiParameter(
        "frame", OpenApiTypes.STR, description="A frame element's id: only its region."
    ),
    OpenApiParameter(
        "dark", OpenApiTypes.STR, enum=_FLAG, description="1: colours as dark mode shows them."
    ),
]
