"""The only module that knows the stage order, and the one object the composition root and
the HTTP handlers hold:

accept (engine.intake):  normalize -> severity -> route -> persist (group commit) -> wake the
                         scheduler.
flush (engine.flush):    lock a due group -> its alerts -> mute -> incident -> notify.
on call (engine.oncall): people's actions and escalation steps.
hand-offs (engine.handoffs): each schedule's shift change, announced once.
heartbeats (engine.heartbeats): a missing heartbeat's alert raised, and resolved, through
                         ingest's write.

Each stage reads the configuration in force (`runtime`, swapped whole by a reload) when it
runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from alertrouter.config.models import Config
from alertrouter.engine.flush import Flusher
from alertrouter.engine.handoffs import HandOffs
from alertrouter.engine.heartbeats import HeartbeatWatch
from alertrouter.engine.intake import Intake
from alertrouter.engine.observers import Observers, StageParts
from alertrouter.engine.oncall import OnCall
from alertrouter.engine.runtime import Runtime
from alertrouter.incidents.actions import Action, ActionResult
from alertrouter.ingest.heartbeats import HeartbeatChange, Status
from alertrouter.ingest.postable import Accepted
from alertrouter.ingest.values import RoutedAlert, WriteResult
from alertrouter.ingest.wire import WebhookPayload
from alertrouter.people.handoffs import Announced
from alertrouter.storage.database import Database


class Pipeline:
    def __init__(
        self,
        db: Database,
        runtime: Runtime,
        clock_ms: Callable[[], int],
        on_batch: Callable[[int], None] | None = None,
        on_in_flight: Callable[[int], None] | None = None,
    ) -> None:
        self.db = db
        self.runtime = runtime
        self.observers = Observers()
        parts = StageParts(db, self._current_runtime, clock_ms, self.observers)
        self._intake = Intake(parts, on_batch=on_batch, on_in_flight=on_in_flight)
        self._flusher = Flusher(parts)
        self._oncall = OnCall(parts, self._flusher.mute_context)
        self._handoffs = HandOffs(parts)
        self._heartbeats = HeartbeatWatch(parts, self._intake.route_own)

    def _current_runtime(self) -> Runtime:
        return self.runtime

    def config(self) -> Config:
        """The configuration in force."""
        return self.runtime.config

    # -- accept

    def route(self, payload: WebhookPayload) -> list[RoutedAlert]:
        return self._intake.route(payload)

    def accept_postable(self, body: bytes) -> tuple[Accepted, list[RoutedAlert]]:
        return self._intake.accept_postable(body)

    async def expire_due(self, now: int, limit: int = 500) -> int:
        return await self._intake.expire_due(now, limit)

    @contextmanager
    def arriving(self) -> Iterator[None]:
        with self._intake.arriving():
            yield

    async def store(self, routed: list[RoutedAlert], *, off_loop: bool = False) -> WriteResult:
        return await self._intake.store(routed, off_loop=off_loop)

    async def reroute_firing(self, batch_size: int = 1000) -> int:
        return await self._intake.reroute_firing(batch_size)

    def start(self) -> None:
        self._intake.committer.start()

    async def stop(self) -> None:
        await self._intake.committer.stop()

    # -- flush

    async def flush_due(self, now: int, limit: int = 100) -> list[str]:
        return await self._flusher.flush_due(now, limit)

    # -- people and escalation

    async def act(self, action: Action) -> ActionResult:
        return await self._oncall.act(action)

    async def escalate_due(self, now: int, limit: int = 50) -> int:
        return await self._oncall.escalate_due(now, limit)

    async def record_schedules(self) -> list[str]:
        return await self._oncall.record_schedules()

    async def record_schedules_if_needed(self) -> None:
        await self._oncall.record_schedules_if_needed()

    async def warm_statistics(self, start: int, end: int) -> None:
        await self._oncall.warm_statistics(start, end)

    # -- schedules

    async def announce_handoffs(self, now: int) -> list[Announced]:
        return await self._handoffs.announce_due(now)

    # -- heartbeats

    async def check_heartbeats(self, now: int) -> list[HeartbeatChange]:
        return await self._heartbeats.check(now)

    async def beat(self, heartbeat: str, source: str) -> int:
        return await self._heartbeats.beat(heartbeat, source)

    async def heartbeat_statuses(self, now: int) -> list[Status]:
        return await self._heartbeats.statuses(now)
