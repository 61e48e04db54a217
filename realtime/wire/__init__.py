"""The wire: every byte a board socket carries, decoded and encoded by pure functions."""

from __future__ import annotations
