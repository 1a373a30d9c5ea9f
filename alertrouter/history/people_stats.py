"""Per-person statistics over a window, from the database: pages and acknowledgements from
`person_activity`, hours on call from each schedule's merged shifts.

One range of `person_activity` is read and counted here: which pages fell outside a person's
working hours is read on their own clock (`at` plus their zone's offset, from the offset
changes within the window: people_load.offset_spans and off_hours_local). Hours on call come
from every schedule's shifts, as running totals per schedule kept until its versions or its
overrides change (people.ledgers).

Synchronous, on a `sa.Connection`: the roster's shifts are (async callers use run_sync).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from alertrouter.history import people_load
from alertrouter.history.measures import Measure, percentile
from alertrouter.history.people_load import (
    Activity,
    PeopleLoad,
    Person,
)
from alertrouter.incidents.paging import ACKNOWLEDGED, PAGED
from alertrouter.people import ledgers, roster
from alertrouter.storage.people_tables import person_activity

# (connection, start_ms, end_ms) -> per schedule, per person, the ms on call: ledgers.all_held.
HeldOf = Callable[[sa.Connection, int, int], Mapping[str, Mapping[str, int]]]


@dataclass(frozen=True, slots=True)
class PeopleQuery:
    since: int
    until: int
    user: str | None = None  # only this person


async def load(conn: AsyncConnection, query: PeopleQuery, on_call: roster.Roster) -> PeopleLoad:
    """The statistics of the configured people (and of names in the history): the roster
    answers who was on call, with overrides and the schedules' earlier definitions."""
    people = [Person(u.name, u.full_name, u.time_zone) for u in on_call.users.values()]

    def held_of(sync: sa.Connection, start: int, end: int) -> Mapping[str, Mapping[str, int]]:
        return ledgers.all_held(sync, on_call, start, end, user=query.user)

    return await conn.run_sync(lambda sync: compute(sync, query, people, held_of))


def compute(
    conn: sa.Connection,
    query: PeopleQuery,
    people: Sequence[Person],
    held_of: HeldOf,
) -> PeopleLoad:
    zones = {p.name: ZoneInfo(p.time_zone) for p in people}
    activity = count_activity(conn, query, zones)
    on_call = people_load.by_person(held_of(conn, query.since, query.until))
    rows = people_load.combine(people, activity, on_call, only=query.user)
    return PeopleLoad(query.since, query.until, rows)


def count_activity(
    conn: sa.Connection, query: PeopleQuery, zones: Mapping[str, ZoneInfo]
) -> dict[str, Activity]:
    """Each person's pages (at night, at weekends, on their own clock) and acknowledgements
    (with the time they took) in the window: one indexed range of `person_activity`, counted
    here. Pages and acknowledgements are few next to alerts (a busy month is a few thousand
    rows), and reading each page's local time from the offset spans of its person's zone costs
    less than any SQL that would do it (a CASE over every person's name)."""
    pa = person_activity.c
    spans = {
        zone: people_load.offset_spans(zone, query.since, query.until)
        for zone in set(zones.values())
    }
    counts: dict[str, list[int]] = {}  # paged, nights, weekends, acknowledged
    responses: dict[str, list[int]] = {}
    rows = conn.execute(
        sa.select(pa.user_name, pa.kind, pa.at, pa.response_ms).where(*_in_window(query))
    )
    for user, kind, at, response_ms in rows:
        count = counts.get(user)
        if count is None:
            count = counts[user] = [0, 0, 0, 0]
        if kind == PAGED:
            count[0] += 1
            zone = zones.get(user)  # None: no longer configured, read in UTC
            why = people_load.off_hours_local(at, spans[zone] if zone is not None else ())
            if why == "night":
                count[1] += 1
            elif why == "weekend":
                count[2] += 1
        elif kind == ACKNOWLEDGED:
            count[3] += 1
            if response_ms is not None:
                responses.setdefault(user, []).append(int(response_ms))
    found = {}
    for user, (paged, nights, weekends, acknowledged) in counts.items():
        timed = sorted(responses.get(user, ()))
        mean = sum(timed) / len(timed) if timed else None
        found[user] = Activity(
            paged=paged,
            paged_at_night=nights,
            paged_on_weekends=weekends,
            acknowledged=acknowledged,
            to_acknowledge=Measure(mean, percentile(timed)),
        )
    return found


def _in_window(query: PeopleQuery) -> list[sa.ColumnElement[bool]]:
    pa = person_activity.c
    where = [pa.at >= query.since, pa.at < query.until]
    if query.user is not None:
        where.append(pa.user_name == query.user)
    return where
