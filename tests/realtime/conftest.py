"""
Fixtures shared by the realtime tests: real server processes (tests/realtime/servers.py).
"""

from __future__ import annotations

from tests.realtime.servers import server_env, start_inkroom

__all__ = ["server_env", "start_inkroom"]
