"""Values shared by every layer: labels, severities, alerts, the clock, and the error tree.

Error hierarchy::

    AlertrouterError
    ├── ConfigError            a configuration that cannot be used; holds every ConfigIssue found
    └── InputError             bad operator or client input (CLI arguments, JSON files, API bodies)
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

Labels = Mapping[str, str]


def format_labels(labels: Labels) -> str:
    """Alertmanager's LabelSet.String(): sorted names, quoted values, e.g. `{a="1", b="2"}`."""
    parts = (f"{name}={quote(labels[name])}" for name in sorted(labels))
    return "{" + ", ".join(parts) + "}"


def quote(value: str) -> str:
    """A double-quoted string with Go-style escapes for quotes, backslashes and control chars."""
    return json.dumps(value, ensure_ascii=False)


class Severity(enum.IntEnum):
    """P0 is the most urgent; a lower value is a higher severity."""

    P0 = 0
    P1 = 1
    P2 = 2
    P3 = 3

    @property
    def description(self) -> str:
        return _SEVERITY_DESCRIPTIONS[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        """`P0`..`P3`, case-insensitive; raises ValueError otherwise."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r}, expected one of P0, P1, P2, P3") from None

    def __str__(self) -> str:
        return self.name


_SEVERITY_DESCRIPTIONS = {
    Severity.P0: "critical",
    Severity.P1: "high",
    Severity.P2: "medium",
    Severity.P3: "low",
}


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert as alertrouter sees it; `ends_at` None means it is firing with no known end."""

    labels: Labels
    starts_at: dt.datetime
    ends_at: dt.datetime | None = None
    annotations: Labels = field(default_factory=dict)
    fingerprint: str = ""

    def is_firing(self, now: dt.datetime) -> bool:
        return self.ends_at is None or self.ends_at > now


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class AlertrouterError(Exception):
    """Base of every error alertrouter raises on purpose."""


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem found in a configuration, located by its YAML path (and line when known)."""

    path: str
    message: str
    line: int | None = None
    source: str | None = None

    def __str__(self) -> str:
        where = self.path or "(top level)"
        if self.line is not None:
            where = f"{where} (line {self.line})"
        if self.source:
            where = f"{self.source}: {where}"
        return f"{where}: {self.message}"


class ConfigError(AlertrouterError):
    """A configuration with one or more errors; `issues` lists every one found."""

    def __init__(self, issues: Iterable[ConfigIssue]) -> None:
        self.issues = tuple(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


class InputError(AlertrouterError):
    """Input from an operator or client that cannot be used, with a message saying why."""


def parse_rfc3339(text: str) -> dt.datetime:
    """An RFC 3339 timestamp as an aware datetime (a trailing Z means UTC)."""
    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone offset")
    return value
