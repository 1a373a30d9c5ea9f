"""What people and escalation do to incidents: an action (ack, un-ack, resolve, silence) in
one transaction, and the escalation steps that fall due."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection

from alertrouter.engine.observers import StageParts
from alertrouter.incidents import escalation_store
from alertrouter.incidents.actions import Action, ActionResult, perform
from alertrouter.mute.muting import FlushContext, muted_by

log = logging.getLogger(__name__)

MuteContext = Callable[[AsyncConnection, int], Awaitable[FlushContext]]


class OnCall:
    def __init__(self, parts: StageParts, mute_context: MuteContext) -> None:
        self._db = parts.db
        self._runtime = parts.runtime
        self._now = parts.clock_ms
        self._observers = parts.observers
        self._mute_context = mute_context

    async def act(self, action: Action) -> ActionResult:
        """Applies what a person did to an incident (one transaction); raises NoSuchIncident,
        ActionRefused."""
        now = self._now()
        runtime = self._runtime()
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
                limit=limit,
                is_muted=lambda labels: muted_by(labels, context) is not None,
            )
        )
        self._observers.queued(sum(f.queued for f in fired))
        for f in fired:
            log.info("incident %s escalated to %s (step %d)", f.incident_id, f.receiver, f.step + 1)
            for observe in self._observers.on_escalated:
                observe(f)
        return len(fired)
