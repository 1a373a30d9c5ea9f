"""Flushing due groups: lock a due group -> its alerts -> mute (silences, inhibition) ->
incident (lifecycle plan) -> history index -> escalation -> notify (the notification log
decides, templates render, messages queue in the outbox) -> the group's next due time. A batch
of groups is one transaction of set-based statements."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertrouter.core.groups import GroupRow, MemberAlert
from alertrouter.core.instants import from_millis
from alertrouter.core.values import Alert, Severity
from alertrouter.engine.observers import StageParts
from alertrouter.engine.runtime import Runtime
from alertrouter.history import search_index
from alertrouter.incidents import escalation_store, paging
from alertrouter.incidents import store as incident_store
from alertrouter.incidents.lifecycle import FlushAlert, Plan, plan_flush
from alertrouter.ingest import groups as group_state
from alertrouter.ingest.alerts import firing_alerts
from alertrouter.ingest.values import Flushed
from alertrouter.mute import silence_store
from alertrouter.mute.inhibition import Inhibitor
from alertrouter.mute.muting import FlushContext, muted_by
from alertrouter.notify.compose import GroupNotice, Outgoing, notify, time_muted_event
from alertrouter.notify.log_store import load_entries

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FlushOutcome:
    group: GroupRow
    plan: Plan
    incident: dict[str, Any] | None  # the incidents row after the flush
    queued: int  # messages put in the outbox

    @property
    def incident_id(self) -> int | None:
        return None if self.incident is None else int(self.incident["id"])


class _GroupFlush:
    """One group's part of a flush: its alerts with their mute state, and the plan for its
    incident."""

    def __init__(
        self,
        group: GroupRow,
        members: list[MemberAlert],
        current: incident_store.Current | None,
        resolved_by_hand: incident_store.ManualResolution | None,
        context: FlushContext,
        retrigger_levels: Collection[Severity],
    ) -> None:
        self.group = group
        self.members = members
        self.current = current
        alerts = [
            FlushAlert(
                m.fingerprint,
                m.labels,
                m.annotations,
                m.severity,
                m.firing,
                (
                    _held(m, resolved_by_hand, group, context.now) or muted_by(m.labels, context)
                    if m.firing
                    else None
                ),
            )
            for m in members
        ]
        self.muted = {a.fingerprint for a in alerts if a.muted_by is not None}
        self.known_before = frozenset(current.known) if current is not None else frozenset()
        if current is None:
            self.plan = plan_flush(None, {}, alerts)
        else:
            self.plan = plan_flush(current.incident, current.known, alerts, retrigger_levels)

    def indexed(self, incident: dict[str, Any]) -> search_index.Indexed:
        """The incident with the alerts this flush adds to it, for the history's index."""
        new = [
            m
            for m in self.members
            if m.fingerprint in self.plan.alert_states and m.fingerprint not in self.known_before
        ]
        return search_index.Indexed(incident, [m.labels for m in new], [m.annotations for m in new])


def _held(
    member: MemberAlert,
    resolution: incident_store.ManualResolution | None,
    group: GroupRow,
    now: int,
) -> str | None:
    """Alerts still firing when a person resolved their incident open no new one before
    repeat_interval has passed (see incidents.actions)."""
    if resolution is None or not resolution.holds(
        member.fingerprint, member.updated_at, now, group.repeat_interval_ms
    ):
        return None
    until = from_millis(resolution.resolved_at + group.repeat_interval_ms)
    return (
        f"incident #{resolution.incident_id} resolved by {resolution.resolved_by}; "
        f"held until {until:%Y-%m-%d %H:%M:%S} UTC"
    )


class Flusher:
    def __init__(self, parts: StageParts) -> None:
        self._db = parts.db
        self._runtime = parts.runtime
        self._observers = parts.observers

    async def flush_due(self, now: int, limit: int = 100) -> list[str]:
        """Flushes up to `limit` due groups; returns the keys it flushed."""
        async with self._db.read() as conn:
            keys = await group_state.due_keys(conn, now, limit)
            if not keys:
                return []
            context = await self.mute_context(conn, now)
        try:
            # One transaction for the whole batch, with set-based statements: on SQLite every
            # commit is an fsync, and per group the statements' own overhead would dominate.
            outcomes = await self._db.run_write(lambda conn: self._flush(conn, keys, context))
        except Exception:
            log.exception("flushing %d groups together failed; flushing one by one", len(keys))
            return [key for key in keys if await self.flush_group(key, context)]
        return [outcome.group.key for outcome in outcomes if self._flushed(outcome)]

    async def mute_context(self, conn: AsyncConnection, now: int) -> FlushContext:
        """The silences active at `now` and the inhibition the alerts firing then cause."""
        active = tuple(await silence_store.active(conn, now))
        inhibitor = None
        rules = self._runtime().inhibit_rules
        if rules:
            firing = [
                Alert(
                    labels=a.labels, starts_at=from_millis(a.starts_at), fingerprint=a.fingerprint
                )
                for a in await firing_alerts(conn)
            ]
            inhibitor = Inhibitor(rules, firing, from_millis(now))
        return FlushContext(now, active, inhibitor)

    async def flush_group(self, key: str, context: FlushContext) -> bool:
        """Flushes one group on its own; False when there was nothing to flush (flushed
        meanwhile, or another replica holds the group)."""
        outcomes = await self._db.run_write(lambda conn: self._flush(conn, [key], context))
        return any(self._flushed(outcome) for outcome in outcomes)

    def _flushed(self, outcome: FlushOutcome) -> bool:
        """Reports one committed flush."""
        self._observers.queued(outcome.queued)
        plan = outcome.plan
        if plan.open:
            log.info(
                "incident %s opened (%s, %s) for group %s",
                outcome.incident_id,
                plan.severity,
                plan.title,
                outcome.group.key,
            )
        elif plan.resolve and outcome.incident is not None:
            for observe in self._observers.on_resolved:
                observe(outcome.incident)
            log.info(
                "incident %s resolved: all alerts of group %s resolved",
                outcome.incident_id,
                outcome.group.key,
            )
        return True

    def _flush(
        self, conn: sa.Connection, keys: Sequence[str], context: FlushContext
    ) -> list[FlushOutcome]:
        """Flushes the groups of `keys` that are still due, in one transaction, each step a few
        statements for all of them."""
        db, now = self._db, context.now
        runtime = self._runtime()
        locked = group_state.lock_due(db, conn, keys, now)
        if not locked:
            return []
        locked_keys = [group.key for group in locked]
        members = group_state.members(conn, locked_keys)
        current = incident_store.load_open(conn, locked_keys)
        without_incident = [g for g in locked if g.key not in current]
        resolved_by_hand = incident_store.manual_resolutions(
            conn,
            [g.key for g in without_incident],
            since=now - max((g.repeat_interval_ms for g in without_incident), default=0),
        )
        flushes = [
            _GroupFlush(
                group,
                members.get(group.key, []),
                current.get(group.key),
                resolved_by_hand.get(group.key),
                context,
                runtime.config.incidents.retrigger_on_new_alerts,
            )
            for group in locked
        ]
        rows = incident_store.apply_plans(
            db, conn, [(f.group, f.plan, f.current) for f in flushes], now
        )
        search_index.record(
            db,
            conn,
            [f.indexed(row) for f, row in zip(flushes, rows, strict=True) if row is not None],
        )
        policies = runtime.policies
        escalation_store.start(
            db,
            conn,
            [
                row
                for f, row in zip(flushes, rows, strict=True)
                if row is not None and (f.plan.open or f.plan.retrigger)
            ],
            policies,
            now,
        )
        escalation_store.cancel(
            db,
            conn,
            [
                int(row["id"])
                for f, row in zip(flushes, rows, strict=True)
                if row is not None and f.plan.resolve
            ],
            now,
        )
        notified = [(f, row) for f, row in zip(flushes, rows, strict=True) if row is not None]
        entries = load_entries(conn, [(f.group.key, f.group.receiver) for f, _ in notified])
        outgoing = Outgoing()
        queued: dict[str, int] = {}
        oncall: dict[str, Mapping[str, Any] | None] = {}  # by route key, once per batch
        for f, row in notified:
            time_muted = _time_muted(runtime, f.group, now)
            if time_muted is not None:
                # As Alertmanager: nothing is sent or logged; the timeline says why, once per
                # change rather than at every re-evaluation.
                if f.plan.events:
                    outgoing.events.append(
                        time_muted_event(int(row["id"]), f.group.receiver, time_muted, now)
                    )
                continue
            route_key = f.group.route_key
            if route_key not in oncall:
                oncall[route_key] = runtime.oncall_of(conn, route_key, now)
            notice = GroupNotice(
                f.group,
                row,
                f.members,
                f.muted,
                entries.get((f.group.key, f.group.receiver), {}),
                runtime.notify_settings(f.group.receiver),
                now,
                oncall[route_key],
            )
            queued[f.group.key] = notify(outgoing, notice)
        outgoing.write(db, conn, now)
        paging.tell_paged_resolved(
            db,
            conn,
            [row for f, row in notified if f.plan.resolve],
            runtime.notify_settings,
            now,
        )
        group_state.mark_flushed(
            db,
            conn,
            [
                Flushed(
                    f.group,
                    still_firing=any(m.firing for m in f.members),
                    drop_members=[m.fingerprint for m in f.members if not m.firing],
                )
                for f in flushes
            ],
            now,
        )
        return [
            FlushOutcome(f.group, f.plan, row, queued.get(f.group.key, 0))
            for f, row in zip(flushes, rows, strict=True)
        ]


def _time_muted(runtime: Runtime, group: GroupRow, now: int) -> str | None:
    """Why the group's route mutes notifications now (its time intervals), or None."""
    routing = runtime.routing
    route = routing.route(group.route_key)
    return None if route is None else routing.time_muted_by(route, from_millis(now))
