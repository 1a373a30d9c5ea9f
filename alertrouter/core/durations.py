"""Durations in Prometheus' syntax (`1d2h30m`, `90s`, `0`), as Alertmanager's config uses them,
and for people (`human_duration`: `1h30m`, `15s`, whole seconds, the two largest units)."""

from __future__ import annotations

import datetime as dt
import re

_UNITS_MS = {
    "y": 365 * 24 * 3600 * 1000,
    "w": 7 * 24 * 3600 * 1000,
    "d": 24 * 3600 * 1000,
    "h": 3600 * 1000,
    "m": 60 * 1000,
    "s": 1000,
    "ms": 1,
}
_DURATION_RE = re.compile(
    r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?"
)
_ORDER = ("y", "w", "d", "h", "m", "s", "ms")
_MAX_MS = (1 << 63) // 1_000_000  # Go's time.Duration is int64 nanoseconds


def parse_duration(text: str) -> dt.timedelta:
    """Parse like Prometheus' model.ParseDuration; raises ValueError with the offending text."""
    if text == "0":
        return dt.timedelta(0)
    match = _DURATION_RE.fullmatch(text)
    if not text or match is None:
        raise ValueError(f"not a valid duration string: {text!r} (examples: 30s, 5m, 1h30m, 7d)")
    total_ms = 0
    for unit, amount in zip(_ORDER, match.groups(), strict=True):
        if amount is not None:
            total_ms += int(amount) * _UNITS_MS[unit]
    if total_ms > _MAX_MS:
        raise ValueError(f"duration out of range: {text!r}")
    return dt.timedelta(milliseconds=total_ms)


def format_duration(value: dt.timedelta) -> str:
    """The shortest Prometheus-style form, e.g. `1h30m`, `4h`, `0s`."""
    total_ms = round(value.total_seconds() * 1000)
    if total_ms == 0:
        return "0s"
    parts: list[str] = []
    sign = "-" if total_ms < 0 else ""
    remaining = abs(total_ms)
    for unit in ("w", "d", "h", "m", "s", "ms"):
        size = _UNITS_MS[unit]
        if remaining >= size:
            amount, remaining = divmod(remaining, size)
            parts.append(f"{amount}{unit}")
    return sign + "".join(parts)


def human_duration(value: float | dt.timedelta) -> str:
    """Seconds (or a timedelta) for people, in whole seconds and the two largest units, in the
    syntax of the configuration: `15s`, `5m`, `1h30m`, `3d4h` (never `15s1ms`); `0s` for
    anything under a second or negative."""
    seconds = max(0, int(value.total_seconds() if isinstance(value, dt.timedelta) else value))
    parts = []
    for unit in ("d", "h", "m", "s"):
        count, seconds = divmod(seconds, _UNITS_MS[unit] // 1000)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts[:2]) or "0s"
