"""GET /people (everyone's load over the last 30 days) and GET /people/{name}: a person's
upcoming shifts (the next 14 days, every schedule, overrides included), the incidents they were
paged for or acknowledged recently, their load (the statistics of GET /api/v1/stats/people)
and how to subscribe to their shifts in a calendar app."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from aiohttp import web

from alertrouter.core.instants import to_millis
from alertrouter.history import people_load, people_stats
from alertrouter.history.people_stats import PeopleQuery
from alertrouter.history.person_history import recent_incidents
from alertrouter.people import roster as rosters
from alertrouter.server.keys import CLOCK_MS, DB, PIPELINE
from alertrouter.web import pages
from alertrouter.web.access import Viewer

DAY_MS = 86_400_000
LOAD_DAYS = 30
SHIFT_DAYS = 14


@dataclass(frozen=True, slots=True)
class UpcomingShift:
    schedule: str
    start: int
    end: int
    layer: str
    with_: tuple[str, ...]  # who else is on call with them


@pages.page
async def people_page(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    on_call = _roster(request)
    now = request.app[CLOCK_MS]()
    query = PeopleQuery(now - LOAD_DAYS * DAY_MS, now)
    async with request.app[DB].read() as conn:
        load = await people_stats.load(conn, query, on_call)
    context = {
        "people": people_load.document(load)["people"],
        "configured": set(on_call.users),
        "since": query.since,
        "until": query.until,
        "days": LOAD_DAYS,
    }
    return pages.render(request, "people.html", context, viewer=viewer)


@pages.page
async def person_page(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    on_call = _roster(request)
    name = request.match_info["name"]
    user = on_call.users.get(name)
    if user is None:
        raise web.HTTPNotFound(reason=f"There is no user named {name!r}.")
    now = request.app[CLOCK_MS]()
    since = now - LOAD_DAYS * DAY_MS
    async with request.app[DB].read() as conn:
        upcoming = await conn.run_sync(lambda sync: _upcoming(sync, on_call, name, now))
        load = await people_stats.load(conn, PeopleQuery(since, now, user=name), on_call)
        incidents = await recent_incidents(conn, name, since)
    external = request.app[PIPELINE].config().server.external_url.rstrip("/")
    context = {
        "user": user,
        "zone": user.time_zone,
        "on_call_now": [s for s in upcoming if s.start <= now],
        "upcoming": upcoming,
        "load": people_load.document(load)["people"][0],
        "incidents": incidents,
        "days": LOAD_DAYS,
        "shift_days": SHIFT_DAYS,
        "feed": f"{external}/calendar/users/{name}.ics?token=…",
    }
    return pages.render(request, "person.html", context, viewer=viewer)


def _upcoming(
    conn: sa.Connection, on_call: rosters.Roster, name: str, now: int
) -> list[UpcomingShift]:
    """The person's shifts overlapping the next two weeks, in every schedule, by start."""
    end = now + SHIFT_DAYS * DAY_MS
    found = []
    for schedule, shifts in rosters.all_shifts(conn, on_call, now, end).items():
        for shift in shifts:
            if name in shift.users:
                others = tuple(u for u in shift.users if u != name)
                found.append(
                    UpcomingShift(
                        schedule, to_millis(shift.start), to_millis(shift.end), shift.layer, others
                    )
                )
    return sorted(found, key=lambda s: (s.start, s.schedule))


def _roster(request: web.Request) -> rosters.Roster:
    return request.app[PIPELINE].runtime.roster
