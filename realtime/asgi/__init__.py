"""The ASGI side of a board socket: origin check, admission, routing and the consumer."""

from __future__ import annotations
