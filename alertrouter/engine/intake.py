"""Accepting alerts: normalize -> severity -> route -> persist (group commit) -> wake the
scheduler; and, after a reload, re-routing the alerts that still fire. Firing alerts that match a
heartbeat's matchers are its beats, recorded in the same transaction; unless every heartbeat they
feed says `route_alerts`, they are only that, neither stored nor routed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa

from alertrouter.core.groups import GroupRef
from alertrouter.core.values import Labels
from alertrouter.engine.observers import StageParts
from alertrouter.engine.runtime import Runtime
from alertrouter.ingest import postable
from alertrouter.ingest.alerts import attach_to_groups, firing_alerts, write_alerts
from alertrouter.ingest.expiry import expire_due
from alertrouter.ingest.heartbeat_store import record_beats
from alertrouter.ingest.heartbeats import SOURCE_ALERT
from alertrouter.ingest.values import BeatingAlert, RoutedAlert, WriteResult
from alertrouter.ingest.wire import IncomingAlert, WebhookPayload, normalize
from alertrouter.routing.tree import Route
from alertrouter.storage.committer import GroupCommitter


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
    if runtime.heartbeats.fed_by_alerts:
        return [_route_or_beat(runtime, alert, refs) for alert in incoming]
    return route_only(runtime, incoming, refs)


def route_only(
    runtime: Runtime, incoming: Sequence[IncomingAlert], refs: GroupRefs
) -> list[RoutedAlert]:
    """Routed, never a heartbeat's beat: the alerts alertrouter raises itself."""
    match = runtime.routing.match
    return [
        RoutedAlert(
            alert,
            tuple([refs.of(route, alert.labels) for route in match(alert.labels, alert.severity)]),
        )
        for alert in incoming
    ]


def _route_or_beat(runtime: Runtime, alert: IncomingAlert, refs: GroupRefs) -> RoutedAlert:
    beats, routed = runtime.heartbeats.fed_by(alert.labels)
    if not routed:
        return BeatingAlert(alert, (), beats, stored=False)
    match = runtime.routing.match(alert.labels, alert.severity)
    groups = tuple([refs.of(route, alert.labels) for route in match])
    return BeatingAlert(alert, groups, beats, stored=True) if beats else RoutedAlert(alert, groups)


def _ms(value: dt.timedelta) -> int:
    return int(value.total_seconds() * 1000)


class Intake:
    def __init__(
        self,
        parts: StageParts,
        on_batch: Callable[[int], None] | None = None,
        on_in_flight: Callable[[int], None] | None = None,
    ) -> None:
        self._db = parts.db
        self._runtime = parts.runtime
        self._now = parts.clock_ms
        self._observers = parts.observers
        self._refs = GroupRefs()
        self.committer: GroupCommitter[RoutedAlert, WriteResult] = GroupCommitter(
            parts.db,
            self._write,
            on_commit=self._committed,
            on_batch=on_batch,
            on_in_flight=on_in_flight,
            max_in_flight=parts.db.commits_in_flight,
        )

    def route(self, payload: WebhookPayload) -> list[RoutedAlert]:
        runtime = self._runtime()
        return route_alerts(runtime, normalize(payload, runtime.severity), self._refs)

    def accept_postable(self, body: bytes) -> tuple[postable.Accepted, list[RoutedAlert]]:
        """A POST /api/v2/alerts body checked (raises postable.Rejected), its deadlines set from
        now and global.resolve_timeout, and its valid alerts routed."""
        runtime = self._runtime()
        config = runtime.config
        accepted = postable.accept(
            body,
            now=self._now(),
            resolve_timeout_ms=_ms(config.global_.resolve_timeout),
            severity=runtime.severity,
            limits=config.server.alert_limits,
        )
        return accepted, route_alerts(runtime, accepted.alerts, self._refs)

    async def expire_due(self, now: int, limit: int) -> int:
        """Resolves alerts whose deadline passed (see ingest.expiry); returns how many."""
        db = self._db
        expired = await db.run_write(lambda conn: expire_due(db, conn, now, limit))
        if expired.earliest_due is not None:
            self._committed(WriteResult(expired.earliest_due))
        return expired.alerts

    @contextmanager
    def arriving(self) -> Iterator[None]:
        """Marks a request whose alerts are on their way (see GroupCommitter.arriving)."""
        with self.committer.arriving():
            yield

    async def store(self, routed: list[RoutedAlert], *, off_loop: bool = False) -> WriteResult:
        """Returns once the alerts are committed (sharing a transaction with concurrent ones)."""
        return await self.committer.submit(routed, off_loop=off_loop)

    def route_own(self, incoming: Sequence[IncomingAlert]) -> list[RoutedAlert]:
        """Routes alerts alertrouter raises itself (a missing heartbeat's)."""
        return route_only(self._runtime(), incoming, self._refs)

    def _write(self, conn: sa.Connection, batch: Sequence[RoutedAlert]) -> WriteResult:
        now = self._now()
        beating = [r for r in batch if type(r) is BeatingAlert]
        if not beating:
            return write_alerts(self._db, conn, batch, now)
        # First, as in every transaction that takes a heartbeat's row (ingest.heartbeat_store).
        beats = sorted({name for r in beating if r.alert.firing for name in r.beats})
        record_beats(self._db, conn, beats, now, SOURCE_ALERT)
        stored = [r for r in batch if type(r) is not BeatingAlert or r.stored]
        result = write_alerts(self._db, conn, stored, now)
        return WriteResult(result.earliest_due, tuple(beats))

    def _committed(self, result: WriteResult) -> None:
        if result.earliest_due is not None:
            for callback in self._observers.on_due:
                callback(result.earliest_due)
        for name in result.beats:
            self._observers.beat(name, SOURCE_ALERT)

    async def reroute_firing(self, batch_size: int = 1000) -> int:
        """After a reload: attach every firing alert to the groups the new routing tree gives
        it (Alertmanager re-routes all alerts on reload). Ingest only routes alerts that
        change, so without this an unchanged alert would keep its old groups."""
        runtime = self._runtime()
        db = self._db
        count, after = 0, 0
        while True:
            async with db.read() as conn:
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
            due = await db.run_write(
                lambda conn, routed=routed, now=now: attach_to_groups(db, conn, routed, now)
            )
            if due:
                self._committed(WriteResult(min(due)))
            count += len(rows)
            after = rows[-1].id
