"""
The msgpack media type for the API: `Accept: application/msgpack` on state, snapshot and history.

The same structures as the JSON responses, packed with msgpack, so API clients can feed what they
fetch straight into the code that reads the binary wire protocol.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgpack
from rest_framework.renderers import BaseRenderer, JSONRenderer

MSGPACK_MEDIA_TYPE = "application/msgpack"


class MsgpackRenderer(BaseRenderer):
    """
    Render response data as msgpack; non-msgpack values (dates, UUIDs) become strings.
    """

    media_type = MSGPACK_MEDIA_TYPE
    format = "msgpack"
    charset = None
    render_style = "binary"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        packed: bytes = msgpack.packb(data, default=str)
        return packed


#: Renderers for endpoints that speak both JSON and msgpack (JSON first: the default).
JSON_OR_MSGPACK = [JSONRenderer, MsgpackRenderer]
