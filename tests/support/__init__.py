"""Test support shared by the test folders and the bench: clients, builders, factories."""

from __future__ import annotations
