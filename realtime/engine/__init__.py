"""The room engine of one process: rooms, the tick that sequences and commits ops, catch-up."""

from __future__ import annotations
