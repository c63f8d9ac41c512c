"""Durations as people write them in the configuration and the API: ``7d``, ``1h``, ``30m``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(r"([0-9]{1,9})\s*([smhd]?)")
RULE = "a whole number followed by s, m, h or d (such as '7d', '1h', '30m'), or 0"


def parse(value: object) -> timedelta:
    """``7d`` → 7 days; a bare number is seconds. ValueError naming the rule otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{value!r} is not a duration: use {RULE}")
    text = str(value).strip().lower()
    match = _PATTERN.fullmatch(text)
    if match is None:
        raise ValueError(f"{value!r} is not a duration: use {RULE}")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2) or "s"])


def text(duration: timedelta) -> str:
    """The shortest way :func:`parse` reads back: ``timedelta(days=7)`` → ``7d``."""
    seconds = int(duration.total_seconds())
    for unit in ("d", "h", "m"):
        if seconds and seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s" if seconds else "0"
