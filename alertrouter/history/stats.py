"""Response statistics over the incidents opened in a time range.

Time to acknowledge counts from opening to the first response: the first acknowledgement
(`first_acknowledged_at`, which un-acknowledging and acknowledging again leave alone), or a
resolve by a person when nobody acknowledged (that is a response too). "Within target" is the
share of incidents that needed a response and got one within their P-level's response target.
An incident needed a response unless its alerts resolved it before the target without anyone
responding, or it is still open and younger than its target.

The database aggregates: one grouped query per breakdown. PostgreSQL computes the p90s itself
(percentile_cont); SQLite has no percentile aggregate, so there the values come back sorted
and the same interpolation runs here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertrouter.core.values import Severity
from alertrouter.history.measures import P90, Measure, as_float, iso, measure_json, percentile
from alertrouter.incidents.store import ALERT_SOURCE
from alertrouter.storage.tables import escalations, incident_labels, incidents

DAY_MS = 86_400_000


@dataclass(slots=True)
class GroupStats:
    opened: int = 0
    acknowledged: int = 0  # responded to: acknowledged, or resolved by a person
    resolved: int = 0
    open: int = 0
    within_target: int = 0
    needing_response: int = 0
    escalations: int = 0
    to_acknowledge: Measure = field(default_factory=Measure)
    to_resolve: Measure = field(default_factory=Measure)


@dataclass(frozen=True, slots=True)
class Flapping:
    group_key: str
    group_labels: Mapping[str, str]
    title: str
    receiver: str
    incidents: int
    reopened: int  # opened again within the flap window after the group's previous one resolved


@dataclass(frozen=True, slots=True)
class Stats:
    since: int
    until: int
    service_label: str
    targets: Mapping[Severity, int]
    overall: GroupStats
    by_severity: dict[Severity, GroupStats]
    by_receiver: dict[str, GroupStats]
    by_service: dict[str, GroupStats]
    per_day: list[tuple[int, dict[Severity, int]]]  # (day start, ms) -> opened per P-level
    noisiest: list[tuple[str, int]]  # alertname, incidents
    flapping: list[Flapping]


@dataclass(frozen=True, slots=True)
class StatsQuery:
    since: int
    until: int
    now: int
    targets: Mapping[Severity, int]  # response target per P-level, ms
    service_label: str = "service"
    top: int = 10
    flap_window: int = 3_600_000


async def compute(conn: AsyncConnection, query: StatsQuery) -> Stats:
    expressions = _Expressions(query)
    postgres = conn.dialect.name == "postgresql"
    overall = await _breakdown(conn, expressions, None, postgres)
    by_severity = await _breakdown(conn, expressions, incidents.c.severity, postgres)
    by_receiver = await _breakdown(conn, expressions, incidents.c.receiver, postgres)
    service = incident_labels.c.value
    by_service = await _breakdown(conn, expressions, service, postgres, join_label=True)
    await _count_escalations(conn, query, overall, by_severity, by_receiver, by_service)
    return Stats(
        since=query.since,
        until=query.until,
        service_label=query.service_label,
        targets=query.targets,
        overall=overall.get(None, GroupStats()),
        by_severity={Severity(k): v for k, v in sorted(by_severity.items())},
        by_receiver=dict(sorted(by_receiver.items())),
        by_service=dict(sorted(by_service.items(), key=lambda kv: (-kv[1].opened, kv[0]))),
        per_day=await _per_day(conn, query),
        noisiest=await _noisiest(conn, query),
        flapping=await _flapping(conn, query),
    )


class _Expressions:
    def __init__(self, query: StatsQuery) -> None:
        c = incidents.c
        self.query = query
        self.in_range = sa.and_(c.opened_at >= query.since, c.opened_at < query.until)
        self.target = sa.case(
            {int(level): query.targets[level] for level in Severity}, value=c.severity
        )
        by_person = sa.and_(c.resolved_via.is_not(None), c.resolved_via != ALERT_SOURCE)
        responded_at = sa.func.coalesce(
            c.first_acknowledged_at, sa.case((by_person, c.resolved_at))
        )
        self.tta = responded_at - c.opened_at
        self.ttr = c.resolved_at - c.opened_at
        self.responded = responded_at.is_not(None)
        self.within = sa.and_(self.responded, self.tta <= self.target)
        self.needing = sa.or_(
            self.responded,
            sa.and_(c.resolved_at.is_not(None), self.ttr > self.target),
            sa.and_(c.resolved_at.is_(None), query.now - c.opened_at > self.target),
        )


def count_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


async def _breakdown(
    conn: AsyncConnection,
    e: _Expressions,
    key: sa.ColumnElement[Any] | None,
    postgres: bool,
    *,
    join_label: bool = False,
) -> dict[Any, GroupStats]:
    c = incidents.c
    columns: list[sa.ColumnElement[Any]] = [
        (key if key is not None else sa.null()).label("key"),
        sa.func.count().label("opened"),
        count_if(e.responded).label("acknowledged"),
        sa.func.count(c.resolved_at).label("resolved"),
        count_if(c.resolved_at.is_(None)).label("open"),
        count_if(e.within).label("within"),
        count_if(e.needing).label("needing"),
        sa.func.avg(e.tta).label("tta_mean"),
        sa.func.avg(e.ttr).label("ttr_mean"),
    ]
    if postgres:
        columns += [
            sa.func.percentile_cont(P90).within_group(e.tta).label("tta_p90"),
            sa.func.percentile_cont(P90).within_group(e.ttr).label("ttr_p90"),
        ]
    source = _source(e, join_label)
    statement = sa.select(*columns).select_from(source).where(e.in_range)
    if key is not None:
        statement = statement.group_by(key)
    found: dict[Any, GroupStats] = {}
    for row in await conn.execute(statement):
        if row.opened == 0:
            continue
        found[row.key] = GroupStats(
            opened=row.opened,
            acknowledged=int(row.acknowledged),
            resolved=row.resolved,
            open=int(row.open),
            within_target=int(row.within),
            needing_response=int(row.needing),
            to_acknowledge=Measure(as_float(row.tta_mean), as_float(getattr(row, "tta_p90", None))),
            to_resolve=Measure(as_float(row.ttr_mean), as_float(getattr(row, "ttr_p90", None))),
        )
    if not postgres and found:
        await _sqlite_percentiles(conn, e, key, source, found)
    return found


def _source(e: _Expressions, join_label: bool) -> sa.FromClause:
    if not join_label:
        return incidents
    il, query = incident_labels.c, e.query
    # The label rows carry the incident's opened_at: the range narrows them on their index too.
    return incidents.join(
        incident_labels,
        sa.and_(
            il.incident_id == incidents.c.id,
            il.name == query.service_label,
            il.opened_at >= query.since,
            il.opened_at < query.until,
        ),
    )


async def _sqlite_percentiles(
    conn: AsyncConnection,
    e: _Expressions,
    key: sa.ColumnElement[Any] | None,
    source: sa.FromClause,
    found: dict[Any, GroupStats],
) -> None:
    for metric, attribute in ((e.tta, "to_acknowledge"), (e.ttr, "to_resolve")):
        group = key if key is not None else sa.null()
        values: dict[Any, list[float]] = {}
        for k, value in await conn.execute(
            sa.select(group, metric)
            .select_from(source)
            .where(e.in_range, metric.is_not(None))
            .order_by(group, metric)
        ):
            values.setdefault(k, []).append(value)
        for k, ordered in values.items():
            stats = found[k]
            setattr(stats, attribute, Measure(getattr(stats, attribute).mean, percentile(ordered)))


async def _count_escalations(
    conn: AsyncConnection,
    query: StatsQuery,
    overall: dict[Any, GroupStats],
    by_severity: dict[Any, GroupStats],
    by_receiver: dict[Any, GroupStats],
    by_service: dict[Any, GroupStats],
) -> None:
    c, esc = incidents.c, escalations.c
    fired = incidents.join(escalations, esc.incident_id == c.id)
    in_range = (c.opened_at >= query.since, c.opened_at < query.until, esc.status == "fired")
    for severity, receiver, n in await conn.execute(
        sa.select(c.severity, c.receiver, sa.func.count())
        .select_from(fired)
        .where(*in_range)
        .group_by(c.severity, c.receiver)
    ):
        for table, key in ((overall, None), (by_severity, severity), (by_receiver, receiver)):
            if key in table:
                table[key].escalations += int(n)
    il = incident_labels.c
    for service, n in await conn.execute(
        sa.select(il.value, sa.func.count())
        .select_from(
            fired.join(
                incident_labels,
                sa.and_(
                    il.incident_id == c.id,
                    il.name == query.service_label,
                    il.opened_at >= query.since,
                    il.opened_at < query.until,
                ),
            )
        )
        .where(*in_range)
        .group_by(il.value)
    ):
        if service in by_service:
            by_service[service].escalations += int(n)


async def _per_day(
    conn: AsyncConnection, query: StatsQuery
) -> list[tuple[int, dict[Severity, int]]]:
    c = incidents.c
    day = (c.opened_at // DAY_MS).label("day")
    first, last = query.since // DAY_MS, (query.until - 1) // DAY_MS
    days: dict[int, dict[Severity, int]] = {
        d: {level: 0 for level in Severity} for d in range(first, last + 1)
    }
    for d, severity, n in await conn.execute(
        sa.select(day, c.severity, sa.func.count())
        .where(c.opened_at >= query.since, c.opened_at < query.until)
        .group_by(day, c.severity)
    ):
        if d in days:
            days[d][Severity(severity)] = int(n)
    return [(d * DAY_MS, counts) for d, counts in sorted(days.items())]


async def _noisiest(conn: AsyncConnection, query: StatsQuery) -> list[tuple[str, int]]:
    il = incident_labels.c
    n = sa.func.count().label("n")
    rows = await conn.execute(
        sa.select(il.value, n)
        .where(il.name == "alertname", il.opened_at >= query.since, il.opened_at < query.until)
        .group_by(il.value)
        .order_by(n.desc(), il.value)
        .limit(query.top)
    )
    return [(value, int(count)) for value, count in rows]


async def _flapping(conn: AsyncConnection, query: StatsQuery) -> list[Flapping]:
    c = incidents.c
    previous = (
        sa.select(
            c.group_key,
            c.opened_at,
            sa.func.lag(c.resolved_at)
            .over(partition_by=c.group_key, order_by=c.opened_at)
            .label("previous_resolved_at"),
        )
        .where(c.opened_at >= query.since, c.opened_at < query.until)
        .subquery()
    )
    reopened = count_if(
        previous.c.opened_at - previous.c.previous_resolved_at <= query.flap_window
    ).label("reopened")
    rows = (
        await conn.execute(
            sa.select(previous.c.group_key, sa.func.count().label("n"), reopened)
            .group_by(previous.c.group_key)
            .having(reopened > 0)
            .order_by(reopened.desc(), previous.c.group_key)
            .limit(query.top)
        )
    ).all()
    if not rows:
        return []
    latest = {
        r.group_key: r
        for r in await conn.execute(
            sa.select(c.group_key, c.group_labels, c.title, c.receiver)
            .where(
                c.group_key.in_([r.group_key for r in rows]),
                c.opened_at >= query.since,
                c.opened_at < query.until,
            )
            .order_by(c.opened_at)
        )
    }
    return [
        Flapping(
            r.group_key,
            latest[r.group_key].group_labels,
            latest[r.group_key].title,
            latest[r.group_key].receiver,
            int(r.n),
            int(r.reopened),
        )
        for r in rows
    ]


def document(stats: Stats) -> dict[str, Any]:
    """The JSON shape of GET /api/v1/stats (documented in the OpenAPI description)."""
    return {
        "from": iso(stats.since),
        "to": iso(stats.until),
        "serviceLabel": stats.service_label,
        "overall": _group_json(stats.overall),
        "bySeverity": [
            {
                "severity": level.name,
                "targetSeconds": stats.targets[level] / 1000,
                **_group_json(g),
            }
            for level, g in stats.by_severity.items()
        ],
        "byReceiver": [{"receiver": k, **_group_json(g)} for k, g in stats.by_receiver.items()],
        "byService": [{"service": k, **_group_json(g)} for k, g in stats.by_service.items()],
        "perDay": [
            {
                "day": iso(day)[:10],
                "opened": sum(counts.values()),
                "bySeverity": {level.name: n for level, n in counts.items()},
            }
            for day, counts in stats.per_day
        ],
        "noisiest": [{"alertname": name, "incidents": n} for name, n in stats.noisiest],
        "flapping": [
            {
                "groupKey": f.group_key,
                "groupLabels": dict(f.group_labels),
                "title": f.title,
                "receiver": f.receiver,
                "incidents": f.incidents,
                "reopened": f.reopened,
            }
            for f in stats.flapping
        ],
    }


def _group_json(g: GroupStats) -> dict[str, Any]:
    return {
        "opened": g.opened,
        "acknowledged": g.acknowledged,
        "resolved": g.resolved,
        "open": g.open,
        "timeToAcknowledge": measure_json(g.to_acknowledge),
        "timeToResolve": measure_json(g.to_resolve),
        "acknowledgedWithinTarget": {
            "count": g.within_target,
            "of": g.needing_response,
            "share": (
                round(g.within_target / g.needing_response, 4) if g.needing_response else None
            ),
        },
        "escalations": g.escalations,
    }
