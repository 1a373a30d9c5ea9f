"""What every stage shares: the database, the configuration in force, the clock, and who hears
what the stages did (callbacks the composition root registers: waking the delivery worker and
the scheduler, metrics). Kept apart so that no stage imports another."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from alertrouter.engine.runtime import Runtime
from alertrouter.incidents.actions import Action, ActionResult
from alertrouter.incidents.escalation_store import Fired
from alertrouter.ingest.heartbeats import HeartbeatChange
from alertrouter.storage.database import Database


@dataclass
class Observers:
    # A commit made groups due at this instant (wakes the scheduler).
    on_due: list[Callable[[int], None]] = field(default_factory=list)
    # Messages were queued in the outbox (wakes the delivery worker).
    on_queued: list[Callable[[int], None]] = field(default_factory=list)
    # A person's action was committed; an escalation step fired (metrics).
    on_action: list[Callable[[Action, ActionResult], None]] = field(default_factory=list)
    on_escalated: list[Callable[[Fired], None]] = field(default_factory=list)
    # An incident was resolved by its alerts (the incidents row).
    on_resolved: list[Callable[[dict[str, Any]], None]] = field(default_factory=list)
    # A person was paged through a schedule (the schedule's name), after the commit (metrics).
    on_paged: list[Callable[[str], None]] = field(default_factory=list)
    # This replica announced a schedule's shift change (the schedule's name; metrics).
    on_shift_change: list[Callable[[str], None]] = field(default_factory=list)
    # A heartbeat's beat was committed (its name, and "api" or "alert"; metrics, and the
    # scheduler's heartbeat pass, which resolves an open outage).
    on_beat: list[Callable[[str, str], None]] = field(default_factory=list)
    # This replica raised or resolved a heartbeat's alert (metrics).
    on_heartbeat_change: list[Callable[[HeartbeatChange], None]] = field(default_factory=list)

    def queued(self, count: int) -> None:
        if count:
            for callback in self.on_queued:
                callback(count)

    def paged(self, schedule: str, people: int = 1) -> None:
        """Call once the transaction that paged `people` on call for `schedule` committed."""
        for _ in range(people):
            for callback in self.on_paged:
                callback(schedule)

    def shift_changed(self, schedule: str) -> None:
        for callback in self.on_shift_change:
            callback(schedule)

    def beat(self, heartbeat: str, source: str) -> None:
        for callback in self.on_beat:
            callback(heartbeat, source)


@dataclass(frozen=True)
class StageParts:
    db: Database
    runtime: Callable[[], Runtime]  # the runtime in force when called (a reload swaps it)
    clock_ms: Callable[[], int]
    observers: Observers
