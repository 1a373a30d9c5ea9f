"""Aggregation groups as values, for every stage from routing to notification: the group an
alert joins on a route (GroupRef), a stored group as a flush claims it (GroupRow), and its member
alerts as the flush reads them (MemberAlert)."""

from __future__ import annotations

from dataclasses import dataclass

from alertrouter.core.values import Severity


@dataclass(frozen=True, slots=True)
class GroupRef:
    """The aggregation group an alert joins on one matched route, with that route's timings."""

    key: str
    route_key: str
    receiver: str
    labels: dict[str, str]
    group_wait_ms: int
    group_interval_ms: int
    repeat_interval_ms: int


@dataclass(frozen=True, slots=True)
class GroupRow:
    """A stored aggregation group as a flush claims it."""

    key: str
    route_key: str
    receiver: str
    labels: dict[str, str]
    group_interval_ms: int
    repeat_interval_ms: int


@dataclass(frozen=True, slots=True)
class MemberAlert:
    """An alert of a group as a flush reads it: firing while `ends_at` is None."""

    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    severity: Severity
    starts_at: int
    ends_at: int | None
    generator_url: str = ""
    # When we last stored a change of the alert (a new occurrence, its resolution): our clock.
    updated_at: int = 0

    @property
    def firing(self) -> bool:
        return self.ends_at is None
