"""The heartbeat stage (a dead man's switch), driven by the scheduler every few seconds and after
each beat: keeps the watch, then raises the alert of each heartbeat that is overdue and resolves
that of each one that beats again (ingest.heartbeats decides). The alert goes through ingest's
write (ingest.alerts) in the transaction that moves the heartbeat's row under its lock, so the
routing, grouping, silences, inhibition, incidents, escalation and notifications that follow
are those of any alert, and one outage is one alert occurrence (so one incident) whichever
replicas run the pass and however often."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import sqlalchemy as sa

from alertrouter.engine.observers import StageParts
from alertrouter.engine.runtime import Runtime
from alertrouter.ingest import heartbeat_store as store
from alertrouter.ingest.alerts import write_alerts
from alertrouter.ingest.heartbeats import (
    Change,
    Heartbeat,
    HeartbeatChange,
    Status,
    alert_labels,
    deadline,
    decide,
    missing_alert,
    resumed_alert,
    statuses,
)
from alertrouter.ingest.values import RoutedAlert
from alertrouter.ingest.wire import IncomingAlert

log = logging.getLogger(__name__)

RouteOwn = Callable[[Sequence[IncomingAlert]], list[RoutedAlert]]


class HeartbeatWatch:
    def __init__(self, parts: StageParts, route: RouteOwn) -> None:
        self._parts = parts
        self._route = route

    async def beat(self, name: str, source: str) -> int:
        """Records a beat of the (configured) heartbeat `name` now; returns its time."""
        db, now = self._parts.db, self._parts.clock_ms()
        await db.run_write(lambda conn: store.record_beats(db, conn, [name], now, source))
        self._parts.observers.beat(name, source)
        return now

    async def statuses(self, now: int) -> list[Status]:
        runtime = self._parts.runtime()
        async with self._parts.db.read() as conn:
            states = await conn.run_sync(store.read_states)
        return statuses(runtime.heartbeats, states, now)

    async def check(self, now: int) -> list[HeartbeatChange]:
        """One pass at `now`; returns the changes this replica made."""
        db, observers = self._parts.db, self._parts.observers
        runtime = self._parts.runtime()
        configured = runtime.heartbeats.by_name
        async with db.read() as conn:
            states = await conn.run_sync(store.read_states)
        if not configured and not states:
            return []
        names = sorted(configured)
        if store.needs_watch(names, states, now):
            restarted = await db.run_write(lambda conn: store.watch(db, conn, names, now))
            for name in restarted:
                if name in configured:
                    log.info(
                        "heartbeat %s: no replica watched it for a while (alertrouter down?): "
                        "beats are awaited again from now",
                        name,
                    )
        due = [
            name
            for name, state in states.items()
            if decide(configured.get(name), state, now) is not None
        ]
        done: list[HeartbeatChange] = []
        for name in due:
            try:
                change, earliest_due = await db.run_write(
                    lambda conn, name=name: self._move(conn, runtime, name, now)
                )
            except Exception:  # the others still get their turn; this one at the next pass
                log.exception("raising or resolving the alert of heartbeat %r failed", name)
                continue
            if change is None:
                continue
            done.append(change)
            _log(change, configured.get(name))
            if earliest_due is not None:
                for callback in observers.on_due:
                    callback(earliest_due)
            for on_change in observers.on_heartbeat_change:
                on_change(change)
        return done

    def _move(
        self, conn: sa.Connection, runtime: Runtime, name: str, now: int
    ) -> tuple[HeartbeatChange | None, int | None]:
        """In the caller's transaction: decides again under the row's lock and, if there is
        something to do, moves the row and writes the alert."""
        db = self._parts.db
        state = store.lock(db, conn, name)
        if state is None:
            return None, None  # another replica holds it
        heartbeat = runtime.heartbeats.by_name.get(name)
        change = decide(heartbeat, state, now)
        if change is None:
            return None, None
        url = _url(runtime)
        alert: IncomingAlert | None = None
        if change is Change.MISSING:
            assert heartbeat is not None
            starts_at = min(deadline(heartbeat, state), now)
            alert = missing_alert(heartbeat, state, starts_at, runtime.severity, url)
            store.open_outage(conn, state, starts_at, alert_labels(heartbeat), now)
        elif change is Change.RESUMED:
            ends_at = max(state.last_beat_at or now, state.missing_since or now)
            alert = resumed_alert(state, ends_at, runtime.severity, url, "beats again")
            store.close_outage(conn, name, now)
        else:  # no longer configured: its open alert resolves, its row goes
            if state.missing:
                alert = resumed_alert(state, now, runtime.severity, url, "is no longer configured")
            store.forget(conn, name)
        earliest_due = None
        if alert is not None:
            earliest_due = write_alerts(db, conn, self._route([alert]), now).earliest_due
        return HeartbeatChange(name, change, now, alert), earliest_due


def _url(runtime: Runtime) -> str:
    return runtime.config.server.external_url.rstrip("/") + "/api/v1/heartbeats"


def _log(change: HeartbeatChange, heartbeat: Heartbeat | None) -> None:
    if change.change is Change.MISSING:
        assert heartbeat is not None
        log.warning(
            "heartbeat %s is missing: nothing for %d s; its alert is raised",
            change.name,
            heartbeat.window_ms // 1000,
        )
    elif change.alert is not None:
        log.info("heartbeat %s: %s; its alert is resolved", change.name, change.change.value)
