"""What the write half of ingest takes and gives: an incoming alert with the groups it joins
(RoutedAlert), and what one batch's write changed (WriteResult)."""

from __future__ import annotations

from dataclasses import dataclass

from alertrouter.core.groups import GroupRef
from alertrouter.ingest.wire import IncomingAlert


@dataclass(frozen=True, slots=True)
class RoutedAlert:
    alert: IncomingAlert
    groups: tuple[GroupRef, ...]


@dataclass(frozen=True, slots=True)
class WriteResult:
    earliest_due: int | None  # the soonest due time this batch gave a group, if any
