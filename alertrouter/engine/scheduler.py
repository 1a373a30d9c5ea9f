"""Flushes due groups: polls the database (other replicas' work) and wakes early on new work;
first resolves the alerts whose deadline passed (POST /api/v2/alerts: ingest.expiry). Beside
it, every few minutes, prunes the history older than `history.retention`; at start and every
`handoff_every` seconds announces the schedules' shift changes; every `heartbeat_every`
seconds, and soon after each beat, raises and resolves the alerts of missing heartbeats; and a
minute after start (and after each reload) computes the last year's hours on call, a
fortnight at a time, so that the people statistics answer from memoized days."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping

from alertrouter.engine.pipeline import Pipeline
from alertrouter.history import retention
from alertrouter.incidents import escalation_store
from alertrouter.ingest import expiry as expiring
from alertrouter.ingest import groups as group_state
from alertrouter.ingest.heartbeats import HeartbeatChange
from alertrouter.people.handoffs import Announced

log = logging.getLogger(__name__)

DAY_MS = 86_400_000
WARM_DAYS = 366  # the longest window the people statistics accept
WARM_STEP_DAYS = 14
EXPIRE_BATCH = 500  # alerts resolved by their deadline per transaction


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
        prune_every: float = 600.0,
        prune_first: float = 60.0,
        # Per retention pass; a pass that leaves rows behind is followed by another after a
        # pause as long, so a backlog goes at half the writer's time at most.
        prune_budget: float = 2.0,
        on_pruned: Callable[[Mapping[str, int]], None] | None = None,
        handoff_every: float = 30.0,
        heartbeat_every: float = 5.0,
        warm_every: float = 600.0,
        warm_first: float = 60.0,  # after start: flushes and deliveries come first
        warm_pause: float = 1.0,
    ) -> None:
        self._pipeline = pipeline
        self._now = clock_ms
        self._poll = poll_interval
        self._batch = batch
        self._on_lag = on_lag
        self._on_flushed = on_flushed
        self._prune_every = prune_every
        self._prune_first = prune_first
        self._prune_budget = prune_budget
        self._on_pruned = on_pruned
        self._handoff_every = handoff_every
        self._heartbeat_every = heartbeat_every
        self._beaten = asyncio.Event()
        self._warm_every = warm_every
        self._warm_first = warm_first
        self._warm_pause = warm_pause
        self._wake = asyncio.Event()
        self._wake_at = 0  # ms of the planned wake-up
        self._ticking = False
        self._due_during_tick: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._prune_task: asyncio.Task[None] | None = None
        self._handoff_task: asyncio.Task[None] | None = None
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._warm_task: asyncio.Task[None] | None = None
        pipeline.observers.on_due.append(self.due_at)
        pipeline.observers.on_beat.append(lambda _name, _source: self._beaten.set())

    def due_at(self, due: int) -> None:
        """Work becomes due at `due` (ms): wake early if that is before the planned wake-up.
        During a pass, remember it for the pass's own plan instead of starting another pass."""
        if self._ticking:
            self._due_during_tick = min(due, self._due_during_tick or due)
        elif due < self._wake_at:
            self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="scheduler")
        self._prune_task = asyncio.create_task(self._prune_loop(), name="history-retention")
        self._handoff_task = asyncio.create_task(self._handoff_loop(), name="handoffs")
        self._heartbeat_task = asyncio.create_task(self._heartbeat_loop(), name="heartbeats")
        self._warm_task = asyncio.create_task(self._warm_loop(), name="statistics-warm-up")

    async def stop(self) -> None:
        tasks = (
            self._task,
            self._prune_task,
            self._handoff_task,
            self._heartbeat_task,
            self._warm_task,
        )
        for task in tasks:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

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
        async with self._pipeline.db.read() as conn:
            expiry = await expiring.next_expiry(conn)
        if expiry is not None and expiry <= now:
            # Before the flush, so that it sees them resolved in this pass.
            if await self._pipeline.expire_due(now, EXPIRE_BATCH) >= EXPIRE_BATCH:
                return 0.0
            async with self._pipeline.db.read() as conn:
                expiry = await expiring.next_expiry(conn)
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
        if expiry is not None and expiry <= now:
            return 0.05  # held by another replica
        candidates = [t for t in (upcoming, escalation, expiry) if t is not None]
        if not candidates:
            return self._poll
        return max(0.0, min(self._poll, (min(candidates) - self._now()) / 1000))

    # ---------------------------------------------------------------------- history retention

    async def prune(self) -> retention.Pruned | None:
        """One retention pass, when `history.retention` is set (read at each pass: a reload
        turns it on or off)."""
        history = self._pipeline.runtime.loaded.config.history
        policy = retention.Retention.from_config(history)
        if policy is None:
            return None
        pruned = await retention.prune(
            self._pipeline.db,
            policy,
            self._now(),
            budget_s=self._prune_budget,
            on_batch=self._on_pruned,
        )
        if pruned.deleted:
            log.info(
                "history retention: deleted %s in %d transactions",
                ", ".join(f"{n} {kind}" for kind, n in sorted(pruned.deleted.items())),
                pruned.transactions,
            )
        return pruned

    async def _prune_loop(self) -> None:
        delay = self._prune_first
        while True:
            await asyncio.sleep(delay)
            delay = self._prune_every
            try:
                pruned = await self.prune()
            except Exception:
                log.exception("pruning the history failed; trying again at the next pass")
                continue
            if pruned is not None and not pruned.finished:
                delay = self._prune_budget

    # -------------------------------------------------------------------------------- hand-offs

    async def handoffs(self) -> list[Announced]:
        """One pass: announce the schedules' shift changes at the clock's now (first recording
        the schedules' definitions, if start or the last reload could not)."""
        await self._pipeline.record_schedules_if_needed()
        return await self._pipeline.announce_handoffs(self._now())

    async def _handoff_loop(self) -> None:
        while True:
            try:
                await self.handoffs()
            except Exception:
                log.exception("announcing shift changes failed; trying again at the next pass")
            await asyncio.sleep(self._handoff_every)

    # ------------------------------------------------------------------------------- heartbeats

    async def heartbeats(self) -> list[HeartbeatChange]:
        """One pass: raise the alerts of the heartbeats overdue at the clock's now, resolve
        those of the heartbeats that beat again."""
        return await self._pipeline.check_heartbeats(self._now())

    async def _heartbeat_loop(self) -> None:
        spacing = min(1.0, self._heartbeat_every)  # however many beats arrive
        while True:
            self._beaten.clear()
            try:
                await self.heartbeats()
            except Exception:
                log.exception("checking the heartbeats failed; trying again at the next pass")
            await asyncio.sleep(spacing)
            with contextlib.suppress(TimeoutError):  # a beat may end an outage: look sooner
                await asyncio.wait_for(self._beaten.wait(), timeout=self._heartbeat_every - spacing)

    # ------------------------------------------------------------------ statistics warm-up

    async def warm_statistics(self, days: int = WARM_DAYS) -> None:
        """Computes the hours on call of the last `days` days (and tomorrow), newest first, a
        fortnight per step with a pause between steps, so that serving is never held up long."""
        end = self._now() + DAY_MS
        for step_end in range(end, end - days * DAY_MS, -WARM_STEP_DAYS * DAY_MS):
            await self._pipeline.warm_statistics(step_end - WARM_STEP_DAYS * DAY_MS, step_end)
            await asyncio.sleep(self._warm_pause)

    async def _warm_loop(self) -> None:
        warmed = None
        await asyncio.sleep(self._warm_first)
        while True:
            roster = self._pipeline.runtime.roster
            try:
                if roster is not warmed:  # started or reloaded: a year, in steps
                    await self.warm_statistics()
                    warmed = roster
                else:  # the days that came since
                    now = self._now()
                    await self._pipeline.warm_statistics(now - 2 * DAY_MS, now + DAY_MS)
            except Exception:
                log.exception("computing the hours on call ahead failed; trying again later")
            await asyncio.sleep(self._warm_every)
