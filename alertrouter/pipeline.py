"""The only module that knows the stage order.

accept: normalize -> severity -> route -> persist (group commit) -> wake the scheduler.
flush:  lock a due group -> its alerts -> mute (silences, inhibition) -> incident -> notify
        (notification log decides, templates render, messages queue in the outbox) -> done.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertrouter.core import Alert, Labels
from alertrouter.delivery.notify import notify
from alertrouter.incidents import store as incident_store
from alertrouter.incidents.lifecycle import FlushAlert, Plan, plan_flush
from alertrouter.ingest import IncomingAlert, WebhookPayload, normalize
from alertrouter.routing import Route
from alertrouter.runtime import Runtime
from alertrouter.state import groups as group_state
from alertrouter.state import silences as silence_state
from alertrouter.state.alerts import (
    GroupRef,
    RoutedAlert,
    WriteResult,
    attach_to_groups,
    firing_alerts,
    write_alerts,
)
from alertrouter.state.committer import GroupCommitter
from alertrouter.state.inhibition import Inhibitor
from alertrouter.storage import Database, from_millis

log = logging.getLogger(__name__)


class GroupRefs:
    """The GroupRef of a route and an alert's group labels, remembered (bounded): the alerts of
    one payload are usually one group. Keyed by the Route object, which a reload replaces, so a
    reloaded route's timings are never served from an old entry."""

    def __init__(self, limit: int = 10_000) -> None:
        self._refs: dict[tuple[Route, tuple[str | None, ...]], GroupRef] = {}
        self._limit = limit

    def of(self, route: Route, labels: Labels) -> GroupRef:
        if route.opts.group_by_all:
            return _group_ref(route, dict(labels))
        cache_key = (route, tuple([labels.get(name) for name in route.opts.group_by]))
        ref = self._refs.get(cache_key)
        if ref is None:
            if len(self._refs) >= self._limit:
                self._refs.clear()
            ref = self._refs[cache_key] = _group_ref(route, route.group_labels(labels))
        return ref


def _group_ref(route: Route, group: dict[str, str]) -> GroupRef:
    opts = route.opts
    return GroupRef(
        key=route.key_of_group(group),
        route_key=route.key,
        receiver=opts.receiver,
        labels=group,
        group_wait_ms=_ms(opts.group_wait),
        group_interval_ms=_ms(opts.group_interval),
        repeat_interval_ms=_ms(opts.repeat_interval),
    )


def route_alerts(
    runtime: Runtime, incoming: Sequence[IncomingAlert], refs: GroupRefs
) -> list[RoutedAlert]:
    match = runtime.routing.match
    return [
        RoutedAlert(
            alert,
            tuple([refs.of(route, alert.labels) for route in match(alert.labels, alert.severity)]),
        )
        for alert in incoming
    ]


def _ms(value: dt.timedelta) -> int:
    return int(value.total_seconds() * 1000)


@dataclass(frozen=True)
class FlushContext:
    """What every flush of one scheduler pass shares: the instant and the mute sources."""

    now: int
    silences: tuple[silence_state.Silence, ...]
    inhibitor: Inhibitor | None


class Pipeline:
    def __init__(
        self,
        db: Database,
        runtime: Runtime,
        clock_ms: Callable[[], int],
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.db = db
        self.runtime = runtime
        self._refs = GroupRefs()
        self._now = clock_ms
        self.committer: GroupCommitter[RoutedAlert, WriteResult] = GroupCommitter(
            db, self._write, on_commit=self._committed, on_batch=on_batch
        )
        self.on_due: list[Callable[[int], None]] = []
        # Called after a flush queued messages in the outbox (wakes the delivery worker).
        self.on_queued: list[Callable[[int], None]] = []

    # ------------------------------------------------------------------------------ accept

    def route(self, payload: WebhookPayload) -> list[RoutedAlert]:
        runtime = self.runtime
        return route_alerts(runtime, normalize(payload, runtime.severity), self._refs)

    async def store(self, routed: list[RoutedAlert]) -> WriteResult:
        """Returns once the alerts are committed (sharing a transaction with concurrent ones)."""
        return await self.committer.submit(routed)

    def _write(self, conn: sa.Connection, batch: Sequence[RoutedAlert]) -> WriteResult:
        return write_alerts(self.db, conn, batch, self._now())

    def _committed(self, result: WriteResult) -> None:
        if result.earliest_due is not None:
            for callback in self.on_due:
                callback(result.earliest_due)

    async def reroute_firing(self, batch_size: int = 1000) -> int:
        """After a reload: attach every firing alert to the groups the new routing tree gives
        it (Alertmanager re-routes all alerts on reload). Ingest only routes alerts that
        change, so without this an unchanged alert would keep its old groups."""
        runtime = self.runtime
        count, after = 0, 0
        while True:
            async with self.db.read() as conn:
                rows = await firing_alerts(conn, after=after, limit=batch_size)
            if not rows:
                return count
            incoming = [
                IncomingAlert(
                    r.fingerprint,
                    r.labels,
                    {},
                    "",
                    runtime.severity.level(r.labels),
                    r.starts_at,
                    None,
                )
                for r in rows
            ]
            ids = [r.id for r in rows]
            routed = list(zip(ids, route_alerts(runtime, incoming, self._refs), strict=True))
            now = self._now()
            due = await self.db.run_write(
                lambda conn, routed=routed, now=now: attach_to_groups(self.db, conn, routed, now)
            )
            if due:
                self._committed(WriteResult(min(due)))
            count += len(rows)
            after = rows[-1].id

    # ------------------------------------------------------------------------------- flush

    async def flush_due(self, now: int, limit: int = 100) -> list[str]:
        """Flushes up to `limit` due groups; returns the keys it flushed."""
        async with self.db.read() as conn:
            keys = await group_state.due_keys(conn, now, limit)
            if not keys:
                return []
            context = await self._context(conn, now)
        try:
            # One transaction for the whole batch: on SQLite every commit is an fsync, and a
            # burst of new groups would otherwise queue behind one fsync per group.
            outcomes = await self.db.run_write(
                lambda conn: [(key, self._flush(conn, key, context)) for key in keys]
            )
        except Exception:
            log.exception("flushing %d groups together failed; flushing one by one", len(keys))
            return [key for key in keys if await self.flush_group(key, context)]
        return [key for key, outcome in outcomes if self._flushed(key, outcome)]

    async def _context(self, conn: AsyncConnection, now: int) -> FlushContext:
        active = tuple(await silence_state.active(conn, now))
        inhibitor = None
        if self.runtime.inhibit_rules:
            firing = [
                Alert(
                    labels=a.labels, starts_at=from_millis(a.starts_at), fingerprint=a.fingerprint
                )
                for a in await firing_alerts(conn)
            ]
            inhibitor = Inhibitor(self.runtime.inhibit_rules, firing, from_millis(now))
        return FlushContext(now, active, inhibitor)

    async def flush_group(self, key: str, context: FlushContext) -> bool:
        outcome = await self.db.run_write(lambda conn: self._flush(conn, key, context))
        return self._flushed(key, outcome)

    def _flushed(self, key: str, outcome: tuple[Plan, int | None, int] | None) -> bool:
        """Reports one committed flush; False when there was none (flushed meanwhile, or
        another replica holds the group)."""
        if outcome is None:
            return False
        plan, incident_id, queued = outcome
        if queued:
            for callback in self.on_queued:
                callback(queued)
        if plan.open:
            log.info(
                "incident %s opened (%s, %s) for group %s",
                incident_id,
                plan.severity,
                plan.title,
                key,
            )
        elif plan.resolve:
            log.info("incident %s resolved: all alerts of group %s resolved", incident_id, key)
        return True

    def _flush(
        self, conn: sa.Connection, key: str, context: FlushContext
    ) -> tuple[Plan, int | None, int] | None:
        """One flush, in one transaction."""
        group = group_state.lock_due(self.db, conn, key, context.now)
        if group is None:
            return None
        members = group_state.members(conn, key)
        flush_alerts = [
            FlushAlert(
                m.fingerprint,
                m.labels,
                m.annotations,
                m.severity,
                m.firing,
                self._muted_by(m.labels, context) if m.firing else None,
            )
            for m in members
        ]
        incident, known = incident_store.load_open(conn, key)
        plan = plan_flush(incident, known, flush_alerts)
        incident_id = incident_store.apply_plan(self.db, conn, group, plan, context.now)
        queued = 0
        if incident_id is not None:
            queued = notify(
                self.db,
                conn,
                group=group,
                incident_id=incident_id,
                members=members,
                muted={a.fingerprint for a in flush_alerts if a.muted_by is not None},
                settings=self.runtime.notify_settings(group.receiver),
                now=context.now,
            )
        group_state.mark_flushed(
            conn,
            group,
            context.now,
            still_firing=any(m.firing for m in members),
            drop_members=[m.fingerprint for m in members if not m.firing],
        )
        return plan, incident_id, queued

    @staticmethod
    def _muted_by(labels: dict[str, str], context: FlushContext) -> str | None:
        silence = silence_state.first_muting(context.silences, labels, context.now)
        if silence is not None:
            return f"silence {silence.id} by {silence.created_by}: {silence.comment}"
        if context.inhibitor is not None:
            inhibition = context.inhibitor.check(labels)
            if inhibition is not None:
                source = inhibition.by[0]
                name = source.labels.get("alertname", "")
                return (
                    f"inhibited by rule #{inhibition.rule.index}: {name} "
                    f"{source.fingerprint}".replace("  ", " ")
                )
        return None
