"""GET /schedules: each schedule with who is on call now and next, a two-week timeline (a lane
per layer, the overrides, and the merged answer: who is paged), its active and upcoming
overrides with a delete button each, and a form to add one. POST .../overrides and
.../overrides/{id}/delete change them through the override store, by the signed-in viewer via
"web" (same-origin POSTs only, as every form of these pages).

Times on the page, and typed into the form, are the schedule's own wall-clock times.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from aiohttp import web
from multidict import MultiMapping

from alertrouter.core.instants import from_millis, to_millis
from alertrouter.core.values import InputError
from alertrouter.people import outlook, override_store
from alertrouter.people import roster as rosters
from alertrouter.people.oncall import OVERRIDE_LAYER, Schedule, Shift, shifts, versions_of
from alertrouter.people.override_store import OverrideRequest, StoredOverride
from alertrouter.people.wallclock import localize
from alertrouter.server.keys import CLOCK_MS, DB, PIPELINE
from alertrouter.web import charts, pages
from alertrouter.web.access import Viewer
from alertrouter.web.schedule_chart import Lane, Span, timeline

SOURCE = "web"
DAYS = 14
LISTED_AHEAD_MS = 400 * 86_400_000  # upcoming overrides: any that start within this
WIDTHS = (("wide", charts.WIDE), ("narrow", charts.NARROW))
# What a form's redirect reports (?done=...): fixed sentences, never text from the URL.
OUTCOMES = {"created": "Override added.", "deleted": "Override deleted."}


@dataclass(frozen=True, slots=True)
class ScheduleView:
    name: str
    time_zone: str
    layers: Sequence[str]
    outlook: outlook.Outlook
    charts: Mapping[str, charts.Chart]
    overrides: Sequence[StoredOverride]  # in force now or later
    form: Mapping[str, Any]  # the add-override form's values

    @property
    def next_at(self) -> int | None:
        change = self.outlook.next
        return None if change is None else to_millis(change.at)


@pages.page
async def schedules_page(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    return await _render(request, viewer)


async def _render(
    request: web.Request,
    viewer: Viewer,
    *,
    error: str | None = None,
    failed: tuple[str, Mapping[str, Any]] | None = None,
) -> web.StreamResponse:
    """The page; after a rejected form, with its error and what was typed (status 400)."""
    on_call = _roster(request)
    now = request.app[CLOCK_MS]()
    async with request.app[DB].read() as conn:
        views = await conn.run_sync(
            lambda sync: [_view(sync, on_call, n, now) for n in on_call.schedules]
        )
    if failed is not None:
        views = [v if v.name != failed[0] else _with_form(v, failed[1]) for v in views]
    context = {
        "schedules": views,
        "users": sorted(on_call.users),
        "outcome": OUTCOMES.get(request.query.get("done", "")),
        "error": error,
        "failed": failed[0] if failed else None,
    }
    status = 400 if error else 200
    return pages.render(request, "schedules.html", context, viewer=viewer, status=status)


def _with_form(view: ScheduleView, form: Mapping[str, Any]) -> ScheduleView:
    return ScheduleView(
        view.name, view.time_zone, view.layers, view.outlook, view.charts, view.overrides, form
    )


def _view(conn: sa.Connection, on_call: rosters.Roster, name: str, now: int) -> ScheduleView:
    config = on_call.schedule_config(name)
    zone = ZoneInfo(config.time_zone)
    start, end = _two_weeks(now, zone)
    listed = override_store.list_overrides(conn, name, start, now + LISTED_AHEAD_MS)
    merged = rosters.shifts(conn, on_call, name, start, end)
    schedule = on_call.schedules[name]
    lanes = [
        *(_layer_lane(schedule, index, start, end) for index in range(len(schedule.layers))),
        Lane("overrides", [_override_span(o) for o in listed if o.starts_at < end]),
        Lane("on call", [_shift_span(s) for s in merged], css="merged"),
    ]
    return ScheduleView(
        name=name,
        time_zone=config.time_zone,
        layers=[layer.name for layer in schedule.layers],
        outlook=_outlook(conn, on_call, name, now),
        charts={size: timeline(lanes, start, end, zone, now, w) for size, w in WIDTHS},
        overrides=[o for o in listed if o.ends_at > now],
        form=_default_form(now, zone),
    )


def _outlook(conn: sa.Connection, on_call: rosters.Roster, name: str, now: int) -> outlook.Outlook:
    def shifts_between(start: dt.datetime, end: dt.datetime) -> list[Shift]:
        return rosters.shifts(conn, on_call, name, to_millis(start), to_millis(end))

    at = from_millis(now)
    return outlook.outlook(at, rosters.who(conn, on_call, name, now), shifts_between)


def _two_weeks(now: int, zone: dt.tzinfo) -> tuple[int, int]:
    """From the start of today to the start of the day two weeks on, in the schedule's zone."""
    today = from_millis(now).astimezone(zone).date()
    start = localize(dt.datetime.combine(today, dt.time()), zone)
    end = localize(dt.datetime.combine(today + dt.timedelta(days=DAYS), dt.time()), zone)
    return to_millis(start), to_millis(end)


def _layer_lane(schedule: Schedule, index: int, start: int, end: int) -> Lane:
    """One layer on its own, as configured now."""
    layer = schedule.layers[index]
    alone = Schedule(schedule.name, schedule.zone, (layer,))
    found = shifts(versions_of(alone), from_millis(start), from_millis(end))
    return Lane(layer.name, [_shift_span(s) for s in found])


def _shift_span(shift: Shift) -> Span:
    return Span(
        to_millis(shift.start),
        to_millis(shift.end),
        shift.users,
        override=shift.layer == OVERRIDE_LAYER,
    )


def _override_span(o: StoredOverride) -> Span:
    return Span(o.starts_at, o.ends_at, o.users, override=True, note=o.kind)


def _default_form(now: int, zone: dt.tzinfo) -> dict[str, Any]:
    """From the next full hour, for a day."""
    local = (
        from_millis(now).astimezone(zone).replace(minute=0, second=0, microsecond=0, tzinfo=None)
    )
    start = local + dt.timedelta(hours=1)
    return {
        "kind": "replace",
        "users": [],
        "start": _input_value(start),
        "end": _input_value(start + dt.timedelta(days=1)),
        "comment": "",
    }


@pages.page
async def create_override(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    on_call = _roster(request)
    name = _schedule_name(request, on_call)
    zone = ZoneInfo(on_call.schedule_config(name).time_zone)
    fields = await request.post()
    form = _form(fields)
    now = request.app[CLOCK_MS]()
    config = request.app[PIPELINE].config()
    try:
        wanted = OverrideRequest(
            schedule=name,
            kind=form["kind"],
            users=tuple(form["users"]),
            starts_at=parse_local(form["start"], zone, "start"),
            ends_at=parse_local(form["end"], zone, "end"),
            comment=form["comment"],
            created_by=viewer.actor,
            source=SOURCE,
        )
        await request.app[DB].run_write(
            lambda conn: override_store.create(conn, wanted, config, now)
        )
    except InputError as exc:
        return await _render(request, viewer, error=str(exc), failed=(name, form))
    raise web.HTTPSeeOther(f"/schedules?done=created#schedule-{name}")


@pages.page
async def delete_override(request: web.Request, viewer: Viewer) -> web.StreamResponse:
    on_call = _roster(request)
    name = _schedule_name(request, on_call)
    raw = request.match_info["override_id"]
    if not (raw.isascii() and raw.isdigit()) or int(raw) > 2**63 - 1:
        raise web.HTTPNotFound(reason="No such override.")
    now = request.app[CLOCK_MS]()
    try:
        await request.app[DB].run_write(
            lambda conn: override_store.delete(conn, name, int(raw), viewer.actor, SOURCE, now)
        )
    except override_store.NoSuchOverride as exc:
        raise web.HTTPNotFound(reason=str(exc)) from None
    raise web.HTTPSeeOther(f"/schedules?done=deleted#schedule-{name}")


def _roster(request: web.Request) -> rosters.Roster:
    return request.app[PIPELINE].runtime.roster


def _schedule_name(request: web.Request, on_call: rosters.Roster) -> str:
    name = request.match_info["name"]
    if name not in on_call.schedules:
        raise web.HTTPNotFound(reason=f"There is no schedule {name!r}.")
    return name


def _form(fields: MultiMapping[Any]) -> dict[str, Any]:
    def text(key: str, limit: int = 200) -> str:
        return str(fields.get(key, "")).strip()[:limit]

    users = [
        part.strip()
        for value in fields.getall("users", [])
        for part in str(value).split(",")
        if part.strip()
    ]
    return {
        "kind": text("kind"),
        "users": users[:100],
        "start": text("start"),
        "end": text("end"),
        "comment": text("comment", override_store.MAX_COMMENT_CHARS + 1),
    }


def parse_local(text: str, zone: dt.tzinfo, field: str) -> int:
    """A time typed into the form: the schedule's wall-clock time (2026-03-04T09:00, as a
    datetime-local field sends it, or with a space, or seconds), or an RFC 3339 time with its
    offset. A time the clock skips means the first instant after the gap; one it shows twice,
    the first."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"{field}: expected a time such as 2026-03-04T09:00, got {text!r}"
        ) from None
    if moment.tzinfo is None:
        moment = localize(moment, zone)
    return to_millis(moment)


def _input_value(local: dt.datetime) -> str:
    return local.strftime("%Y-%m-%dT%H:%M")
