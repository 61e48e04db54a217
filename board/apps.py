from __future__ import annotations

from django.apps import AppConfig


class BoardConfig(AppConfig):
    name = "board"
    verbose_name = "Boards"
