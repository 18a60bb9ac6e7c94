"""Durations written the way people write them in the config: ``90s``, ``2m``, ``1h30m``, ``90d``, ``2y``
(a year is 365 days)."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdy])", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "y": 365 * 86400}


def parse_duration(value: object) -> timedelta:
    """Turn ``"90s"``, ``"2m"``, ``"1h30m"``, ``"1d"``, ``"2y"`` or a number of seconds into a timedelta.

    Raises:
        ValueError: with a message a person understands when the value is not a duration.
    """
    if isinstance(value, timedelta):
        return _non_negative(value)
    if isinstance(value, bool):
        raise ValueError(_HINT)
    if isinstance(value, int | float):
        return _non_negative(timedelta(seconds=value))
    if not isinstance(value, str):
        raise ValueError(_HINT)
    text = value.strip().lower().replace(" ", "")
    if not text or _PART.sub("", text):
        raise ValueError(f"'{value}' is not a duration; {_HINT}")
    seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(text))
    return _non_negative(timedelta(seconds=seconds))


def _non_negative(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise ValueError("a duration cannot be negative")
    return value


_HINT = "write a number followed by s, m, h, d or y, for example 90s, 2m, 1h30m, 90d or 2y"
