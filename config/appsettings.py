"""
Typed app settings from the INKROOM dict: one frozen dataclass per app, each default written once.

An app (board.conf, realtime.conf) declares its knobs as the fields of a frozen dataclass, with
their defaults. settings.INKROOM holds only what differs from them, keyed by the field's name in
capitals (config/settings.py fills it from the INKROOM_* variables that are set). A
`SettingsReader` reads it once and keeps the object until a `setting_changed` for INKROOM (tests'
`settings` fixture, `override_settings`), as DRF's `api_settings` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")

#: How a field's annotation (a string: `from __future__ import annotations`) casts a value.
_CASTS: dict[str, Any] = {"int": int, "float": float}
_KINDS = {"int": "an integer", "float": "a number", "str | None": "a string or None"}


def settings_from(cls: type[T], values: Mapping[str, Any]) -> T:
    """
    An instance of the dataclass `cls` with the entries of `values` named after its fields (in
    capitals), each cast to its field's type; other keys belong to other apps and are left alone.

    A value of the wrong kind raises ImproperlyConfigured naming its INKROOM key.
    """
    given: dict[str, Any] = {}
    for f in fields(cls):
        kind = str(f.type)
        if kind not in _KINDS:
            raise TypeError(f"{cls.__name__}.{f.name}: a setting is int, float or str | None.")
        key = f.name.upper()
        if key not in values:
            continue
        value = values[key]
        try:
            if kind in _CASTS:
                given[f.name] = _CASTS[kind](value)
            elif value is None or isinstance(value, str):
                given[f.name] = value
            else:
                raise TypeError(value)
        except (TypeError, ValueError):
            raise ImproperlyConfigured(
                f"INKROOM[{key!r}]={value!r} is not {_KINDS[kind]}."
            ) from None
    return cls(**given)


class SettingsReader(Generic[T]):
    """
    Calling it returns the current settings object of `cls`, read from settings.INKROOM on the
    first call after a change.
    """

    def __init__(self, cls: type[T]) -> None:
        self._cls = cls
        self._current: T | None = None
        setting_changed.connect(self._reset, weak=False)

    def __call__(self) -> T:
        current = self._current
        if current is None:
            current = self._current = settings_from(self._cls, getattr(settings, "INKROOM", {}))
        return current

    def _reset(self, *, setting: str, **kwargs: Any) -> None:
        if setting == "INKROOM":
            self._current = None
