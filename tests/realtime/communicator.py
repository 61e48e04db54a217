"""
An in-process WebSocket test double for the transport, the same as channels'
WebsocketCommunicator: `channels.testing` cannot be imported without daphne (its __init__ pulls
in the live-server test case), and daphne (with Twisted) is not worth adding for this.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlparse

from asgiref.testing import ApplicationCommunicator


class WebsocketCommunicator(ApplicationCommunicator):  # type: ignore[misc]
    """
    Drives an ASGI app over the websocket protocol: connect, send frames, read what it sends.
    """

    def __init__(self, application: Any, path: str, headers: list[Any] | None = None) -> None:
        parsed = urlparse(path)
        scope = {
            "type": "websocket",
            "path": unquote(parsed.path),
            "query_string": parsed.query.encode("utf-8"),
            "headers": headers or [],
            "subprotocols": [],
        }
        super().__init__(application, scope)

    async def connect(self, timeout: float = 1) -> tuple[bool, Any]:
        """
        (True, None) when accepted, (False, close code) when refused before accept.
        """
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        assert response["type"] == "websocket.accept", response
        return True, None

    async def send_to(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is not None:
            await self.send_input({"type": "websocket.receive", "text": text_data})
        else:
            await self.send_input({"type": "websocket.receive", "bytes": bytes_data})

    async def disconnect(self, code: int = 1000, timeout: float = 1) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)
