"""What people and escalation do to incidents: an action (ack, un-ack, resolve, silence) in
one transaction, and the escalation steps that fall due."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncConnection

from alertrouter.engine.observers import StageParts
from alertrouter.incidents import escalation_store
from alertrouter.incidents.actions import Action, ActionResult, perform
from alertrouter.mute.muting import FlushContext, muted_by
from alertrouter.people import ledgers, roster

log = logging.getLogger(__name__)

MuteContext = Callable[[AsyncConnection, int], Awaitable[FlushContext]]


class OnCall:
    def __init__(self, parts: StageParts, mute_context: MuteContext) -> None:
        self._db = parts.db
        self._runtime = parts.runtime
        self._now = parts.clock_ms
        self._observers = parts.observers
        self._mute_context = mute_context
        self._recorded: roster.Roster | None = None  # the roster whose versions are recorded

    async def act(self, action: Action) -> ActionResult:
        """Applies what a person did to an incident (one transaction); raises NoSuchIncident,
        ActionRefused."""
        now = self._now()
        runtime = self._runtime()
        if action.user is None and action.actor in runtime.roster.users:
            action = replace(action, user=action.actor)
        result = await self._db.run_write(
            lambda conn: perform(
                self._db, conn, action, runtime.notify_settings, runtime.policies, now
            )
        )
        self._observers.queued(result.queued)
        if result.changed:
            for observe in self._observers.on_action:
                observe(action, result)
            log.info(
                "incident %s: %s by %s via %s",
                action.incident_id,
                action.kind,
                action.actor,
                action.source,
            )
        return result

    async def escalate_due(self, now: int, limit: int = 50) -> int:
        """Fires the escalation steps due at `now`; returns how many it fired."""
        async with self._db.read() as conn:
            context = await self._mute_context(conn, now)
        runtime = self._runtime()
        fired = await self._db.run_write(
            lambda conn: escalation_store.fire_due(
                self._db,
                conn,
                runtime.policies,
                runtime.notify_settings,
                now,
                roster=runtime.roster,
                limit=limit,
                is_muted=lambda labels: muted_by(labels, context) is not None,
            )
        )
        self._observers.queued(sum(f.queued for f in fired))
        for f in fired:
            log.info(
                "incident %s escalated (step %d) to %s%s",
                f.incident_id,
                f.step + 1,
                f.receiver,
                "".join(f", paged {p.user} via {'+'.join(p.via)}" for p in f.paged),
            )
            for observe in self._observers.on_escalated:
                observe(f)
            for page in f.paged:
                if page.schedule is not None:
                    self._observers.paged(page.schedule)
        return len(fired)

    async def record_schedules(self) -> list[str]:
        """Records the schedules whose definition changed (at start, after a reload): from now
        on they answer with the new rotation; earlier instants keep the old one. Until it has
        succeeded for the configuration in force (a database not migrated yet at start), the
        hand-off pass tries again (`record_schedules_if_needed`)."""
        runtime, now = self._runtime(), self._now()
        changed = await self._db.run_write(
            lambda conn: roster.record_versions(conn, runtime.roster, now)
        )
        self._recorded = runtime.roster
        if changed:
            log.info("schedules changed, in force from now: %s", ", ".join(changed))
        return changed

    async def record_schedules_if_needed(self) -> None:
        if self._recorded is not self._runtime().roster:
            await self.record_schedules()

    async def warm_statistics(self, start: int, end: int) -> None:
        """Computes every schedule's hours on call for the days of [start, end) (memoized per
        day, see people.held, and kept as each schedule's ledger, see people.ledgers), so that
        the people statistics answer from them."""
        runtime = self._runtime()
        async with self._db.read() as conn:
            await conn.run_sync(lambda sync: ledgers.all_held(sync, runtime.roster, start, end))
