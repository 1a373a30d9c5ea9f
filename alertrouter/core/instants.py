"""Instants as integer milliseconds since the epoch (UTC), the unit every table and decision
uses, and back: exact, with no float on the way (a float loses a millisecond now and then).
Pure."""

from __future__ import annotations

import datetime as dt

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)


def from_millis(value: int) -> dt.datetime:
    """Epoch milliseconds as an aware UTC datetime."""
    return EPOCH + dt.timedelta(milliseconds=value)


def to_millis(instant: dt.datetime) -> int:
    """An aware datetime as epoch milliseconds (whole ones, rounded down)."""
    return (instant - EPOCH) // _MS
