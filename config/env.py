"""
The one place that reads the process environment.

Every setting Inkroom takes from the environment is read here with an explicit cast, so a typo
in a value fails at start-up with a message naming the variable instead of misbehaving later.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    """
    Return the variable as a string, or `default` when it is unset.
    """
    return os.environ.get(name, default)


def env_required(name: str) -> str:
    """
    Return the variable, raising ImproperlyConfigured when it is unset or empty.
    """
    value = os.environ.get(name, "")
    if not value:
        raise ImproperlyConfigured(f"Set the environment variable {name}.")
    return value


def env_bool(name: str, default: bool = False) -> bool:
    """
    Return the variable as a boolean (1/true/yes/on or 0/false/no/off).
    """
    raw = os.environ.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use 1/0, true/false, yes/no.")


def env_int(name: str, default: int) -> int:
    """
    Return the variable as an integer.
    """
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None


def env_float(name: str, default: float) -> float:
    """
    Return the variable as a float.
    """
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number.") from None


def env_overrides(
    prefix: str, ints: Iterable[str], floats: Iterable[str], rates: Iterable[str] = ()
) -> dict[str, int | float | str | None]:
    """
    {KEY: value} for each variable `prefix` + KEY that is set: ints and floats when not empty,
    cast; rates checked as env_rate does, where set but empty means None (no limit).

    For settings whose defaults live with the object that reads them (board.conf,
    realtime.conf): an unset variable leaves the key out, so no default is written twice.
    """
    found: dict[str, int | float | str | None] = {}
    for key in ints:
        if os.environ.get(prefix + key, "").strip():
            found[key] = env_int(prefix + key, 0)
    for key in floats:
        if os.environ.get(prefix + key, "").strip():
            found[key] = env_float(prefix + key, 0.0)
    for key in rates:
        if prefix + key in os.environ:
            found[key] = env_rate(prefix + key, "")
    return found


def env_list(name: str, default: list[str]) -> list[str]:
    """
    Return a comma-separated variable as a list of stripped, non-empty strings.
    """
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


#: URL schemes redis-py's from_url accepts.
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def env_redis_urls(name: str) -> list[str]:
    """
    Return a comma-separated list of Redis URLs ([] when unset or empty), each checked.

    Several URLs are the channel layer's shards, in an order every process must share:
    channels_redis places a group or a process's channel on a host by its position in the list.
    """
    raw = os.environ.get(name, "")
    if not raw.strip():
        return []
    urls = [item.strip() for item in raw.split(",")]
    for position, url in enumerate(urls, 1):
        if not url.startswith(_REDIS_SCHEMES):
            shown = url.split("@")[-1] or "(empty)"
            raise ImproperlyConfigured(
                f"{name}: item {position} ({shown!r}) is not a redis://, rediss:// or unix:// URL; "
                "separate several Redis shards with commas."
            )
    if len(set(urls)) < len(urls):
        raise ImproperlyConfigured(f"{name} names the same Redis URL twice.")
    return urls


#: DRF's rate syntax: requests per second, minute, hour or day ("30/min"); rest_framework's
#: SimpleRateThrottle.parse_rate reads the period's first letter only.
_RATE = re.compile(r"^\s*\d+\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*$")


def env_rate(name: str, default: str) -> str | None:
    """
    Return a throttle rate ("10/min"), or None (no limit) when the variable is set but empty.

    Checked here so that a typo fails at start-up instead of at the first throttled request.
    """
    raw = os.environ.get(name, default)
    if raw.strip() == "":
        return None
    if not _RATE.match(raw):
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a rate; use <number>/<s|min|hour|day>, e.g. 10/min, "
            "or set it empty for no limit."
        )
    return "".join(raw.split())


def env_networks(name: str, default: list[str]) -> list[str]:
    """
    Return a comma-separated list of IP networks ("10.0.0.0/8,::1"), each checked and normalised.
    """
    networks = []
    for item in env_list(name, default):
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {item!r} is not an IP network.") from None
    return networks
