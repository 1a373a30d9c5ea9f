"""The hand-off stage: announces each schedule's shift changes once (people.handoffs), driven
by the scheduler at start and every 30 s (`Scheduler(handoff_every=...)`). A read finds the
schedules whose answer changed; each of them gets a write transaction of its own, which checks
again under the row lock, so a replica that lost the race does nothing."""

from __future__ import annotations

import logging

from alertrouter.engine.observers import StageParts
from alertrouter.people.handoffs import Announced, HandOffSettings, changed, hand_over

log = logging.getLogger(__name__)


class HandOffs:
    def __init__(self, parts: StageParts) -> None:
        self._parts = parts

    def _settings(self) -> HandOffSettings:
        runtime = self._parts.runtime()
        return HandOffSettings(runtime.config, runtime.roster, runtime.renderer)

    async def announce_due(self, now: int) -> list[Announced]:
        """Announces what changed at `now`; returns what this replica announced."""
        db, observers = self._parts.db, self._parts.observers
        settings = self._settings()
        if not settings.roster.definitions:
            return []
        async with db.read() as conn:
            names = await conn.run_sync(lambda c: changed(c, settings, now))
        done: list[Announced] = []
        for name in names:
            try:
                announced = await db.run_write(
                    lambda conn, name=name: hand_over(db, conn, settings, name, now)
                )
            except Exception:  # the others still get their turn; this one at the next pass
                log.exception("announcing the shift change of schedule %r failed", name)
                continue
            if announced is None:
                continue
            done.append(announced)
            observers.shift_changed(name)
            observers.queued(announced.queued)
        return done
