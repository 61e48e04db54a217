"""
Fixtures of the manifest tests: each overlay, and its rendered objects (rendered once per run).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.k8s.manifests import OVERLAYS, render

_CACHE: dict[str, list[dict[str, Any]]] = {}


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def objects(overlay: str) -> list[dict[str, Any]]:
    if overlay not in _CACHE:
        _CACHE[overlay] = render(overlay)
    return _CACHE[overlay]
