"""
The API's JSON parser: DRF's, plus the rule that every string is Unicode text (issue 14).

JSON may spell a lone surrogate ("\\ud800"). DRF's CharField refuses one, but other fields
quote the input back (a ChoiceField's '"\\ud800" is not a valid choice.'), which the JSON
renderer then cannot encode: a 500. Checking the whole body once, at parse time, covers every
field of every view, keys and fields no serializer reads included, with no per-field code. Form
and multipart bodies, query strings and headers need nothing: Django decodes them with
errors="replace" (or latin-1), which never yields a surrogate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.settings import api_settings

from board.text import NOT_SCALAR_TEXT, non_scalar_path


class TextJSONParser(JSONParser):
    """
    JSONParser that answers a body holding a lone surrogate with a 400 naming where it is.
    """

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        data = super().parse(stream, media_type, parser_context)
        path = non_scalar_path(data)
        if path is not None:
            # A ValidationError, not a ParseError: the body is well-formed JSON, and the client
            # gets the usual `errors` map keyed by the field ("x[1].y" when nested; a bad key of
            # the top-level object under non_field_errors).
            raise serializers.ValidationError(
                {path or api_settings.NON_FIELD_ERRORS_KEY: [NOT_SCALAR_TEXT]}
            )
        return data
