"""The values the write half of ingest and the flush exchange, without the database: an incoming
alert with the groups it joins (RoutedAlert; BeatingAlert for a heartbeat's beat), what one
batch's write changed (WriteResult), which of two updates of an alert wins (newer), a firing
alert as re-routing and inhibition read it (FiringAlert), and what a flush did to a group
(Flushed). Pure."""

from __future__ import annotations

from dataclasses import dataclass

from alertrouter.core.groups import GroupRef, GroupRow
from alertrouter.ingest.wire import IncomingAlert


@dataclass(frozen=True, slots=True)
class RoutedAlert:
    alert: IncomingAlert
    groups: tuple[GroupRef, ...]


@dataclass(frozen=True, slots=True)
class BeatingAlert(RoutedAlert):
    """An alert that feeds heartbeats (ingest.heartbeats), and whether it is stored and routed
    all the same (False: it is only their beat). A class of its own: a field more on every
    RoutedAlert would cost ingest more than all the heartbeats' matching."""

    beats: tuple[str, ...]
    stored: bool


@dataclass(frozen=True, slots=True)
class WriteResult:
    earliest_due: int | None  # the soonest due time this batch gave a group, if any
    beats: tuple[str, ...] = ()  # the heartbeats it beat


def newer(candidate: IncomingAlert, current: IncomingAlert) -> bool:
    """Whether `candidate` supersedes `current` for the same fingerprint (same rule as SQL)."""
    if candidate.starts_at != current.starts_at:
        return candidate.starts_at > current.starts_at
    if current.ends_at is None and candidate.ends_at is None:  # the later deadline wins
        return (candidate.expires_at or 0) > (current.expires_at or 0)
    return current.ends_at is None and candidate.ends_at is not None


@dataclass(frozen=True, slots=True)
class FiringAlert:
    id: int
    fingerprint: str
    labels: dict[str, str]
    starts_at: int


@dataclass(frozen=True, slots=True)
class Flushed:
    group: GroupRow
    still_firing: bool
    drop_members: list[str]  # fingerprints of resolved alerts the flush recorded
