"""Flushes due groups: polls the database (other replicas' work) and wakes early on new work."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from alertrouter.incidents import escalation_store
from alertrouter.pipeline import Pipeline
from alertrouter.state import groups as group_state

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(
        self,
        pipeline: Pipeline,
        clock_ms: Callable[[], int],
        *,
        poll_interval: float = 1.0,
        # Groups flushed per transaction: enough to share an fsync, few enough that ingest and
        # deliveries are not kept waiting for the writer behind a long transaction.
        batch: int = 25,
        on_lag: Callable[[float], None] | None = None,
        on_flushed: Callable[[int], None] | None = None,
    ) -> None:
        self._pipeline = pipeline
        self._now = clock_ms
        self._poll = poll_interval
        self._batch = batch
        self._on_lag = on_lag
        self._on_flushed = on_flushed
        self._wake = asyncio.Event()
        self._wake_at = 0  # ms of the planned wake-up
        self._ticking = False
        self._due_during_tick: int | None = None
        self._task: asyncio.Task[None] | None = None
        pipeline.on_due.append(self.due_at)

    def due_at(self, due: int) -> None:
        """Work becomes due at `due` (ms): wake early if that is before the planned wake-up.
        During a pass, remember it for the pass's own plan instead of starting another pass."""
        if self._ticking:
            self._due_during_tick = min(due, self._due_during_tick or due)
        elif due < self._wake_at:
            self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                delay = await self.tick()
            except Exception:
                log.exception("scheduler pass failed; retrying")
                delay = self._poll
            self._wake_at = self._now() + int(delay * 1000)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            self._wake.clear()

    async def tick(self) -> float:
        """One pass: flush what is due; returns how long to sleep before the next pass."""
        self._ticking = True
        self._due_during_tick = None
        try:
            delay = await self._pass()
        finally:
            self._ticking = False
        arrived = self._due_during_tick
        if arrived is not None:
            delay = min(delay, max(0.0, (arrived - self._now()) / 1000))
        return delay

    async def _pass(self) -> float:
        self._wake.clear()
        now = self._now()
        flushed = await self._pipeline.flush_due(now, self._batch)
        if self._on_flushed is not None and flushed:
            self._on_flushed(len(flushed))
        async with self._pipeline.db.read() as conn:
            escalation = await conn.run_sync(escalation_store.next_due)
        if escalation is not None and escalation <= now:
            if await self._pipeline.escalate_due(now, self._batch) >= self._batch:
                return 0.0
            async with self._pipeline.db.read() as conn:
                escalation = await conn.run_sync(escalation_store.next_due)
        if len(flushed) >= self._batch:
            return 0.0
        async with self._pipeline.db.read() as conn:
            upcoming = await group_state.next_due(conn)
        if upcoming is not None and upcoming <= now:
            if self._on_lag is not None:
                self._on_lag((now - upcoming) / 1000)
            # Still due after this pass: held by another replica for a moment; don't spin.
            return 0.0 if flushed else 0.05
        if escalation is not None and escalation <= now:
            return 0.05  # held by another replica
        candidates = [t for t in (upcoming, escalation) if t is not None]
        if not candidates:
            return self._poll
        return max(0.0, min(self._poll, (min(candidates) - self._now()) / 1000))
