"""What the statistics measure and how they are written in JSON: times in milliseconds, their
mean and p90 (PostgreSQL's percentile_cont, or the same interpolation here where SQLite has no
percentile aggregate), instants as RFC 3339. Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

P90 = 0.9


@dataclass(frozen=True, slots=True)
class Measure:
    """Milliseconds; None when nothing was measured."""

    mean: float | None = None
    p90: float | None = None


def percentile(ordered: Sequence[float], fraction: float = P90) -> float | None:
    """Linear interpolation between closest ranks, as PostgreSQL's percentile_cont."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return float(ordered[below] + (ordered[above] - ordered[below]) * (position - below))


def as_float(value: Any) -> float | None:
    """An aggregate's value (a Decimal from PostgreSQL) as a float; None stays None."""
    return None if value is None else float(value)


def measure_json(m: Measure) -> dict[str, float | None]:
    return {
        "meanSeconds": None if m.mean is None else round(m.mean / 1000, 3),
        "p90Seconds": None if m.p90 is None else round(m.p90 / 1000, 3),
    }


def iso(ms: int) -> str:
    """Epoch ms as RFC 3339 UTC with milliseconds: 2026-11-22T10:00:05.000Z."""
    moment = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
