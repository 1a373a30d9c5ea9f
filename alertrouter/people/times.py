"""RFC 3339 instants, as the on-call API and CLI read and write them. Pure."""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["format_instant", "parse_instant"]

# RFC 3339 date-time: a full date, a time with seconds, an optional fraction, Z or an offset.
_RFC3339 = re.compile(  # ASCII: \d is [0-9], not any Unicode digit
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d+))?"
    r"(?P<offset>[Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)


def parse_instant(text: str, what: str = "time") -> dt.datetime:
    """An RFC 3339 instant (`2026-03-29T01:00:00Z`, `...+02:00`) as an aware UTC datetime.

    A fraction finer than microseconds is truncated. Anything else, including a time without
    an offset, is a ValueError naming `what`.
    """
    match = _RFC3339.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(
            f"{what}: expected an RFC 3339 time such as 2026-03-29T01:00:00Z, got {text!r}"
        )
    fraction = (match["fraction"] or "")[:6].ljust(6, "0")
    offset = "+00:00" if match["offset"] in ("Z", "z") else match["offset"]
    try:
        value = dt.datetime.fromisoformat(f"{match['date']}T{match['time']}.{fraction}{offset}")
    except ValueError as exc:
        raise ValueError(f"{what}: {text!r} is not a valid time: {exc}") from None
    return value.astimezone(dt.UTC)


def format_instant(instant: dt.datetime) -> str:
    """RFC 3339 in UTC with `Z`: seconds, and microseconds only when there are any."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is required, got {instant}")
    utc = instant.astimezone(dt.UTC)
    spec = "seconds" if utc.microsecond == 0 else "microseconds"
    return utc.replace(tzinfo=None).isoformat(timespec=spec) + "Z"
