"""The only module that knows the stage order.

accept: normalize -> severity -> route -> persist (group commit) -> wake the scheduler.
flush:  lock a due group -> its alerts -> mute (silences, inhibition) -> incident -> notify
        (notification log decides, templates render, messages queue in the outbox) -> done.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertrouter.core.values import Alert, Labels, Severity
from alertrouter.engine.runtime import Runtime
from alertrouter.history import search_index
from alertrouter.incidents import escalation_store
from alertrouter.incidents import store as incident_store
from alertrouter.incidents.actions import Action, ActionResult, perform
from alertrouter.incidents.escalation import Policies
from alertrouter.incidents.lifecycle import FlushAlert, Plan, plan_flush
from alertrouter.ingest import groups as group_state
from alertrouter.ingest.alerts import (
    GroupRef,
    RoutedAlert,
    WriteResult,
    attach_to_groups,
    firing_alerts,
    write_alerts,
)
from alertrouter.ingest.groups import GroupRow, MemberAlert
from alertrouter.ingest.wire import IncomingAlert, WebhookPayload, normalize
from alertrouter.mute import silences as silence_state
from alertrouter.mute.inhibition import Inhibitor
from alertrouter.mute.muting import FlushContext, muted_by
from alertrouter.notify.compose import Outgoing, load_entries, notify, time_muted_event
from alertrouter.routing.tree import Route
from alertrouter.storage.committer import GroupCommitter
from alertrouter.storage.database import Database
from alertrouter.storage.tables import from_millis

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
        self._policies: tuple[Runtime, Policies] | None = None
        # Observers (metrics) of committed actions and fired escalation steps.
        self.on_action: list[Callable[[Action, ActionResult], None]] = []
        self.on_escalated: list[Callable[[escalation_store.Fired], None]] = []
        # Observers of incidents resolved by their alerts (the incidents row).
        self.on_resolved: list[Callable[[dict[str, Any]], None]] = []

    # ------------------------------------------------------------------------------ accept

    def route(self, payload: WebhookPayload) -> list[RoutedAlert]:
        runtime = self.runtime
        return route_alerts(runtime, normalize(payload, runtime.severity), self._refs)

    async def store(self, routed: list[RoutedAlert], *, off_loop: bool = False) -> WriteResult:
        """Returns once the alerts are committed (sharing a transaction with concurrent ones)."""
        return await self.committer.submit(routed, off_loop=off_loop)

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
            # One transaction for the whole batch, with set-based statements: on SQLite every
            # commit is an fsync, and per group the statements' own overhead would dominate.
            outcomes = await self.db.run_write(lambda conn: self._flush(conn, keys, context))
        except Exception:
            log.exception("flushing %d groups together failed; flushing one by one", len(keys))
            return [key for key in keys if await self.flush_group(key, context)]
        return [outcome.group.key for outcome in outcomes if self._flushed(outcome)]

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
        """Flushes one group on its own; False when there was nothing to flush (flushed
        meanwhile, or another replica holds the group)."""
        outcomes = await self.db.run_write(lambda conn: self._flush(conn, [key], context))
        return any(self._flushed(outcome) for outcome in outcomes)

    # ----------------------------------------------------------------------- people, escalation

    async def act(self, action: Action) -> ActionResult:
        """Applies what a person did to an incident (one transaction); raises NoSuchIncident,
        ActionRefused."""
        now = self._now()
        result = await self.db.run_write(
            lambda conn: perform(
                self.db, conn, action, self.runtime.notify_settings, self.policies(), now
            )
        )
        if result.queued:
            for callback in self.on_queued:
                callback(result.queued)
        if result.changed:
            for observe in self.on_action:
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
        async with self.db.read() as conn:
            context = await self._context(conn, now)
        fired = await self.db.run_write(
            lambda conn: escalation_store.fire_due(
                self.db,
                conn,
                self.policies(),
                self.runtime.notify_settings,
                now,
                limit=limit,
                is_muted=lambda labels: muted_by(labels, context) is not None,
            )
        )
        queued = sum(f.queued for f in fired)
        if queued:
            for callback in self.on_queued:
                callback(queued)
        for f in fired:
            log.info("incident %s escalated to %s (step %d)", f.incident_id, f.receiver, f.step + 1)
            for observe in self.on_escalated:
                observe(f)
        return len(fired)

    def policies(self) -> Policies:
        """The escalation policies of the configuration in force."""
        runtime = self.runtime
        if self._policies is None or self._policies[0] is not runtime:
            self._policies = (runtime, Policies(runtime.loaded.config, runtime.routing))
        return self._policies[1]

    def _time_muted(self, group: GroupRow, now: int) -> str | None:
        routing = self.runtime.routing
        route = routing.route(group.route_key)
        return None if route is None else routing.time_muted_by(route, from_millis(now))

    def _flushed(self, outcome: FlushOutcome) -> bool:
        """Reports one committed flush."""
        if outcome.queued:
            for callback in self.on_queued:
                callback(outcome.queued)
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
            for observe in self.on_resolved:
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
        db, now = self.db, context.now
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
                self.runtime.loaded.config.incidents.retrigger_on_new_alerts,
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
        policies = self.policies()
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
        for f, row in notified:
            time_muted = self._time_muted(f.group, now)
            if time_muted is not None:
                # As Alertmanager: nothing is sent or logged; the timeline says why, once per
                # change rather than at every re-evaluation.
                if f.plan.events:
                    outgoing.events.append(
                        time_muted_event(int(row["id"]), f.group.receiver, time_muted, now)
                    )
                continue
            queued[f.group.key] = notify(
                outgoing,
                group=f.group,
                incident=row,
                members=f.members,
                muted=f.muted,
                entries=entries.get((f.group.key, f.group.receiver), {}),
                settings=self.runtime.notify_settings(f.group.receiver),
                now=now,
            )
        outgoing.write(db, conn, now)
        group_state.mark_flushed(
            db,
            conn,
            [
                group_state.Flushed(
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
