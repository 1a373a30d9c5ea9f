"""Per-person statistics over a window, from the database: pages and acknowledgements from
`person_activity`, hours on call from each schedule's merged shifts.

One grouped query counts every person's activity (PostgreSQL also computes the p90 time to
acknowledge; SQLite returns the timed acknowledgements sorted, as history.stats does). Which
pages fell outside a person's working hours is decided in that query too: local time is `at`
plus the offset of the person's zone, a CASE over the offset changes within the window
(people_load.offset_spans), and people_load's arithmetic reads night and weekend from it.
Shifts are computed once per schedule for the whole window, not per person, from two queries
for all schedules (roster.all_shifts).

Synchronous, on a `sa.Connection`: the roster's shifts are (async callers use run_sync).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertrouter.history import people_load
from alertrouter.history.measures import P90, Measure, as_float, percentile
from alertrouter.history.people_load import (
    DAY_MS,
    EPOCH_WEEKDAY,
    NIGHT_FROM_MS,
    NIGHT_UNTIL_MS,
    SATURDAY,
    Activity,
    OffsetSpan,
    PeopleLoad,
    Person,
)
from alertrouter.history.stats import count_if
from alertrouter.people import roster
from alertrouter.people.oncall import Shift
from alertrouter.storage.tables import person_activity

# (connection, start_ms, end_ms) -> each schedule's merged shifts: roster.all_shifts.
ShiftsOf = Callable[[sa.Connection, int, int], Mapping[str, Sequence[Shift]]]


@dataclass(frozen=True, slots=True)
class PeopleQuery:
    since: int
    until: int
    user: str | None = None  # only this person


async def load(conn: AsyncConnection, query: PeopleQuery, on_call: roster.Roster) -> PeopleLoad:
    """The statistics of the configured people (and of names in the history): the roster
    answers who was on call, with overrides and the schedules' earlier definitions."""
    people = [Person(u.name, u.full_name, u.time_zone) for u in on_call.users.values()]

    def shifts_of(sync: sa.Connection, start: int, end: int) -> Mapping[str, Sequence[Shift]]:
        return roster.all_shifts(sync, on_call, start, end, user=query.user)

    return await conn.run_sync(lambda sync: compute(sync, query, people, shifts_of))


def compute(
    conn: sa.Connection,
    query: PeopleQuery,
    people: Sequence[Person],
    shifts_of: ShiftsOf,
) -> PeopleLoad:
    zones = {p.name: ZoneInfo(p.time_zone) for p in people}
    activity = count_activity(conn, query, zones)
    on_call = people_load.on_call_ms(
        shifts_of(conn, query.since, query.until), query.since, query.until
    )
    rows = people_load.combine(people, activity, on_call, only=query.user)
    return PeopleLoad(query.since, query.until, rows)


def count_activity(
    conn: sa.Connection, query: PeopleQuery, zones: Mapping[str, ZoneInfo]
) -> dict[str, Activity]:
    pa = person_activity.c
    local = pa.at + _offset_ms(zones, query.since, query.until)
    weekend = ((local // DAY_MS + EPOCH_WEEKDAY) % 7) >= SATURDAY
    time_of_day = local % DAY_MS
    night = sa.and_(
        sa.not_(weekend), sa.or_(time_of_day >= NIGHT_FROM_MS, time_of_day < NIGHT_UNTIL_MS)
    )
    paged = pa.kind == "paged"
    timed = sa.and_(pa.kind == "acknowledged", pa.response_ms.is_not(None))
    postgres = conn.dialect.name == "postgresql"
    columns: list[sa.ColumnElement[Any]] = [
        pa.user_name,
        count_if(paged).label("paged"),
        count_if(sa.and_(paged, night)).label("nights"),
        count_if(sa.and_(paged, weekend)).label("weekends"),
        count_if(pa.kind == "acknowledged").label("acknowledged"),
        sa.func.avg(sa.case((timed, pa.response_ms))).label("tta_mean"),
    ]
    if postgres:
        p90 = sa.func.percentile_cont(P90).within_group(pa.response_ms).filter(timed)
        columns.append(p90.label("tta_p90"))
    in_window = _in_window(query)
    found = {
        row.user_name: Activity(
            paged=int(row.paged),
            paged_at_night=int(row.nights),
            paged_on_weekends=int(row.weekends),
            acknowledged=int(row.acknowledged),
            to_acknowledge=Measure(
                as_float(row.tta_mean), as_float(row.tta_p90) if postgres else None
            ),
        )
        for row in conn.execute(sa.select(*columns).where(*in_window).group_by(pa.user_name))
    }
    if not postgres and found:
        _sqlite_percentiles(conn, in_window, timed, found)
    return found


def _in_window(query: PeopleQuery) -> list[sa.ColumnElement[bool]]:
    pa = person_activity.c
    where = [pa.at >= query.since, pa.at < query.until]
    if query.user is not None:
        where.append(pa.user_name == query.user)
    return where


def _sqlite_percentiles(
    conn: sa.Connection,
    in_window: list[sa.ColumnElement[bool]],
    timed: sa.ColumnElement[bool],
    found: dict[str, Activity],
) -> None:
    pa = person_activity.c
    rows = conn.execute(
        sa.select(pa.user_name, pa.response_ms)
        .where(*in_window, timed)
        .order_by(pa.user_name, pa.response_ms)
    )
    for user, values in itertools.groupby(rows, key=lambda row: row[0]):
        activity = found[user]
        p90 = percentile([row[1] for row in values])
        measure = Measure(activity.to_acknowledge.mean, p90)
        found[user] = Activity(
            activity.paged,
            activity.paged_at_night,
            activity.paged_on_weekends,
            activity.acknowledged,
            measure,
        )


def _offset_ms(zones: Mapping[str, ZoneInfo], since: int, until: int) -> sa.ColumnElement[int]:
    """Each row's UTC offset in its person's zone: people whose zones have the same offsets
    over the window share a branch; UTC and people no longer configured take 0."""
    spans_of = {zone: people_load.offset_spans(zone, since, until) for zone in set(zones.values())}
    by_spans: dict[tuple[OffsetSpan, ...], list[str]] = {}
    for user, zone in zones.items():
        spans = spans_of[zone]
        if spans != (OffsetSpan(since, 0),):
            by_spans.setdefault(spans, []).append(user)
    if not by_spans:
        return sa.literal(0, sa.BigInteger)
    user_name = person_activity.c.user_name
    return sa.case(
        *((user_name.in_(users), _piecewise(spans)) for spans, users in by_spans.items()),
        else_=sa.literal(0, sa.BigInteger),
    )


def _piecewise(spans: Sequence[OffsetSpan]) -> sa.ColumnElement[int]:
    last = sa.literal(spans[-1].offset_ms, sa.BigInteger)
    if len(spans) == 1:
        return last
    at = person_activity.c.at
    return sa.case(
        *(
            (at < following.start_ms, sa.literal(span.offset_ms, sa.BigInteger))
            for span, following in itertools.pairwise(spans)
        ),
        else_=last,
    )
